package search_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
	"github.com/relaymusic/relay/bench/corpus"
	"github.com/relaymusic/relay/search"
	"github.com/relaymusic/relay/sqlite"
)

// benchTracks is the size of the benchmarks' catalogue (the bench corpus,
// seed 1, an artist per 20 tracks); `make bench` measures 1M tracks over
// HTTP, this measures the index alone, in process.
const benchTracks = 20000

// benchIndex loads the corpus into a real store, gives every artist a
// handle, and rebuilds the index from it, as `relay reindex` does.
func benchIndex(b *testing.B) (*search.Index, corpus.Spec) {
	b.Helper()
	ctx := context.Background()
	spec := corpus.Spec{Seed: 1, Tracks: benchTracks}
	dir := b.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "relay.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	g := corpus.New(spec)
	var evs []relay.Event
	for t := g.Next(); t != nil; t = g.Next() {
		evs = append(evs, relay.Event{Kind: relay.TrackPut, DID: t.DID, Track: t})
		if len(evs) == corpus.BatchSize {
			if _, err := st.ApplyBatch(ctx, evs, 0); err != nil {
				b.Fatal(err)
			}
			evs = evs[:0]
		}
	}
	for i, a := range g.Artists() {
		evs = append(evs, relay.Event{Kind: relay.IdentityUpdate, DID: a.DID, Handle: fmt.Sprintf("artist%d.bsky.social", i)})
	}
	if _, err := st.ApplyBatch(ctx, evs, 0); err != nil {
		b.Fatal(err)
	}
	ix, err := search.OpenCurrent(ctx, filepath.Join(dir, "search.bleve"), st, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = ix.Close() })
	if _, err := ix.CatchUp(ctx, st); err != nil {
		b.Fatal(err)
	}
	return ix, spec
}

// BenchmarkSearch runs the bench corpus' queries of each kind as track
// searches and, beside them on the same index, as artist searches of the
// artist word each query ends with (exact, typed so far, misspelt, or
// without its accents): one op is one first page of 50.
func BenchmarkSearch(b *testing.B) {
	ix, spec := benchIndex(b)
	ctx := context.Background()
	qs := corpus.Queries(spec, 7, 50)
	for _, kind := range corpus.Kinds {
		var texts, artists []string
		for _, q := range qs {
			if q.Kind == kind {
				texts = append(texts, q.Text)
				artists = append(artists, q.Words[len(q.Words)-1])
			}
		}
		b.Run("tracks/"+string(kind), func(b *testing.B) {
			for i := range b.N {
				if _, err := ix.Search(ctx, search.Query{Text: texts[i%len(texts)], Limit: 50}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("artists/"+string(kind), func(b *testing.B) {
			for i := range b.N {
				if _, err := ix.SearchArtists(ctx, search.ArtistQuery{Text: artists[i%len(artists)], Limit: 50}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("artists/handle", func(b *testing.B) {
		for i := range b.N {
			h := syntax.Handle(fmt.Sprintf("artist%d.bs", i%(benchTracks/20)))
			if _, err := ix.SearchArtists(ctx, search.ArtistQuery{Text: h.String(), Limit: 50}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
