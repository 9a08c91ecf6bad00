package main

import (
	"github.com/urfave/cli/v2"

	"github.com/relaymusic/relay/datadir"
)

var reindexCommand = &cli.Command{
	Name:  "reindex",
	Usage: "rebuild the search index from SQLite (stop relay serve first: one process holds the index)",
	Flags: []cli.Flag{dataDirFlag},
	Action: func(c *cli.Context) error {
		dd, err := datadir.Open(c.Context, c.String("data-dir"))
		if err != nil {
			return err
		}
		defer dd.Close()
		return dd.Reindex(c.Context)
	},
}
