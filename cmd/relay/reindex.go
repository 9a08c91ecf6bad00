package main

import (
	"github.com/urfave/cli/v2"

	"github.com/relaymusic/relay/search"
	"github.com/relaymusic/relay/sqlite"
)

var reindexCommand = &cli.Command{
	Name:  "reindex",
	Usage: "rebuild the search index from SQLite (stop relay serve first: one process holds the index)",
	Flags: []cli.Flag{dataDirFlag},
	Action: func(c *cli.Context) error {
		unlock, err := lockIndex(c.String("data-dir"))
		if err != nil {
			return err
		}
		defer unlock()
		store, err := sqlite.Open(c.Context, dbPath(c.String("data-dir")))
		if err != nil {
			return err
		}
		defer store.Close()
		return search.RebuildFrom(c.Context, indexPath(c.String("data-dir")), store)
	},
}
