package search_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
	"github.com/relaymusic/relay/search"
)

// Example builds a small index from three outbox changes and searches it
// the way app.relay.feed.searchTracks does: query text folded and matched
// as you type ("bjork jo" finds "Björk - Jóga"), relevance first, and a
// typo forgiven when nothing matches exactly.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "search-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	ix, err := search.Open(filepath.Join(dir, "search.bleve"))
	if err != nil {
		log.Fatal(err)
	}
	defer ix.Close()

	did := syntax.DID("did:plc:example")
	at := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	var changes []relay.Change
	for i, t := range []struct{ rkey, artist, title string }{
		{"3kabc2aaaaa2a", "Björk", "Jóga"},
		{"3kabc2aaaaa2b", "Sigur Rós", "Hoppípolla"},
		{"3kabc2aaaaa2c", "Björk", "Hyperballad"},
	} {
		tr := &relay.Track{
			DID: did, Collection: relay.TrackCollection, RKey: syntax.RecordKey(t.rkey), Artist: t.artist, Title: t.title,
			CreatedAt: at, IndexedAt: at, SortAt: at.Add(time.Duration(i) * time.Hour),
		}
		// Each change carries the outbox sequence the index records as applied.
		changes = append(changes, relay.Change{Seq: int64(i + 1), URI: tr.URI(), Track: tr})
	}
	if err := ix.Apply(ctx, changes); err != nil {
		log.Fatal(err)
	}

	for _, q := range []search.Query{
		{Text: "bjork jo", Limit: 10},
		{Text: "bjork", Limit: 10, Sort: search.SortNewest},
		{Text: "hopipolla", Limit: 10}, // one letter short
	} {
		res, err := ix.Search(ctx, q)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%q: %d\n", q.Text, res.Total)
		for _, uri := range res.URIs {
			fmt.Println("  " + uri)
		}
	}
	// Output:
	// "bjork jo": 1
	//   at://did:plc:example/app.relay.track/3kabc2aaaaa2a
	// "bjork": 2
	//   at://did:plc:example/app.relay.track/3kabc2aaaaa2c
	//   at://did:plc:example/app.relay.track/3kabc2aaaaa2a
	// "hopipolla": 1
	//   at://did:plc:example/app.relay.track/3kabc2aaaaa2b
}
