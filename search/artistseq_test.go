package search

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
)

// outboxArtists is an in-memory outbox whose artists are listed ones.
type outboxArtists struct {
	*fakeSource
	artists listedArtists
}

func (o outboxArtists) Artists(ctx context.Context, dids []syntax.DID) ([]relay.Artist, error) {
	return o.artists.Artists(ctx, dids)
}

func (o outboxArtists) ArtistNames(ctx context.Context, dids []syntax.DID, n int) (map[syntax.DID][]string, error) {
	return o.artists.ArtistNames(ctx, dids, n)
}

func seqsOf(t *testing.T, ix *Index) (applied, artists, prunable int64) {
	t.Helper()
	var err error
	if applied, err = ix.AppliedSeq(); err != nil {
		t.Fatal(err)
	}
	if artists, err = ix.ArtistSeq(); err != nil {
		t.Fatal(err)
	}
	if prunable, err = ix.PrunableSeq(); err != nil {
		t.Fatal(err)
	}
	return applied, artists, prunable
}

// TestArtistSeqAcrossRestart: an index without an artist seq (as made
// before it existed, or by Apply alone) reads it as its applied seq; a
// batch that defers its artists keeps the artist seq where it was, though
// no key held it; after a restart the pending artists, which only the
// deferred batch named, are found again in the outbox and rebuilt, with
// the rest of the outbox or, when nothing is left, in a batch of their own.
func TestArtistSeqAcrossRestart(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		rest int // entries after the deferred batch
	}{
		{"rebuilt with the last entries", 10},
		{"rebuilt alone, nothing left to apply", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir() + "/index"
			ix, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = ix.Close() }()
			cat := catalogue()
			if err := ix.Apply(ctx, changes(1, cat...)); err != nil {
				t.Fatal(err)
			}
			n := int64(len(cat))
			if a, b, p := seqsOf(t, ix); a != n || b != n || p != n {
				t.Fatalf("without an artist seq: applied %d, artists %d, prunable %d; want %d", a, b, p, n)
			}

			// 30 accounts named by the deferred batch; the rest names
			// only the first.
			src := outboxArtists{fakeSource: &fakeSource{}, artists: listedArtists{}}
			var dids []syntax.DID
			for i := range 30 {
				d := syntax.DID(fmt.Sprintf("did:plc:lantern%02d", i))
				dids = append(dids, d)
				src.artists[d] = relay.Artist{DID: d, TrackCount: int64(1 + i)}
			}
			for i := range catchUpBatch + tc.rest {
				d := dids[0]
				if i < catchUpBatch {
					d = dids[i%len(dids)]
				}
				src.add(relay.Change{Seq: n + 1 + int64(i), URI: relay.TrackURI(d, relay.TrackCollection, syntax.RecordKey(fmt.Sprintf("k%d", i)))})
			}
			ix.artists.every = time.Hour
			if err := ix.apply(ctx, src.entries[:catchUpBatch], src, false); err != nil {
				t.Fatal(err)
			}
			if a, b, p := seqsOf(t, ix); a != n+catchUpBatch || b != n || p != n {
				t.Fatalf("deferred: applied %d, artists %d, prunable %d; want %d, %d, %d", a, b, p, n+catchUpBatch, n, n)
			}
			if c, err := ix.ArtistCount(ctx); err != nil || c != 0 {
				t.Fatalf("deferred: %d artist documents, %v", c, err)
			}

			// Restart: the pending set is gone.
			if err := ix.Close(); err != nil {
				t.Fatal(err)
			}
			if ix, err = Open(dir); err != nil {
				t.Fatal(err)
			}
			ix.artists.every = time.Hour
			if b, err := ix.ArtistSeq(); err != nil || b != n {
				t.Fatalf("reopened: artist seq %d, %v; want %d", b, err, n)
			}
			got, err := ix.CatchUp(ctx, src)
			if err != nil || got != tc.rest {
				t.Fatalf("CatchUp = %d, %v; want %d", got, err, tc.rest)
			}
			head := n + catchUpBatch + int64(tc.rest)
			if a, b, p := seqsOf(t, ix); a != head || b != head || p != head {
				t.Errorf("caught up: applied %d, artists %d, prunable %d; want %d", a, b, p, head)
			}
			res, err := ix.SearchArtists(ctx, ArtistQuery{Text: "lantern", Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.DIDs) != len(dids) || res.DIDs[0] != dids[len(dids)-1] {
				t.Errorf("lantern: %v, want all %d, the one with most tracks first", res.DIDs, len(dids))
			}
		})
	}
}
