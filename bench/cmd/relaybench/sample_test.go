package main

import (
	"context"
	"io"
	"log/slog"
	"net/url"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
	"github.com/relaymusic/relay/bench/corpus"
	"github.com/relaymusic/relay/datadir"
	"github.com/relaymusic/relay/sqlite"
)

// TestSample: the lookup scenarios ask for what the corpus holds. Every
// getTracks uri is a stored track's, the biggest artist is the one with
// most tracks, and the plays written into a built corpus are what its
// store ranks as trending over the window that holds them.
func TestSample(t *testing.T) {
	ctx := context.Background()
	spec := corpus.Spec{Seed: 3, Tracks: 2000}
	now := time.Now()
	sm := newSampler(spec, 4, now)
	g := corpus.New(spec)
	perDID := map[syntax.DID]int{}
	uris := map[string]bool{}
	for tr := g.Next(); tr != nil; tr = g.Next() {
		sm.see(tr)
		perDID[tr.DID]++
		uris[tr.URI().String()] = true
	}
	s := sm.s

	if len(s.batches) != getTracksBatches {
		t.Fatalf("%d getTracks sets", len(s.batches))
	}
	for _, u := range s.getTracksURLs("http://x") {
		q, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		got := q.Query()["uris"]
		if len(got) != getTracksURIs {
			t.Fatalf("a set of %d uris: %s", len(got), u)
		}
		for _, v := range got {
			if !uris[v] {
				t.Errorf("%s is no corpus track", v)
			}
		}
	}
	for d, n := range perDID {
		if n > s.bigTracks {
			t.Errorf("%s has %d tracks, more than the biggest artist %s's %d", d, n, s.bigArtist, s.bigTracks)
		}
	}
	if perDID[s.bigArtist] != s.bigTracks || s.bigTracks < 2 {
		t.Errorf("biggest artist %s: %d tracks, counted %d", s.bigArtist, s.bigTracks, perDID[s.bigArtist])
	}
	if len(s.artistNames) != artistQueries {
		t.Errorf("%d artist queries", len(s.artistNames))
	}

	open := now.Unix() / relay.HourSeconds
	var total int64
	for _, p := range s.plays {
		if p.Hour >= open || p.Hour < open-playDays*24 {
			t.Fatalf("a play at hour %d, outside the %d days before %d", p.Hour, playDays, open)
		}
		total += p.N
	}
	if len(s.plays) != min(200_000, spec.Tracks/5) || s.playTracks == 0 || s.playTracks >= len(s.plays) {
		t.Errorf("%d play rows of %d tracks: want %d rows, popular tracks in several", len(s.plays), s.playTracks, spec.Tracks/5)
	}

	built, err := corpus.Build(ctx, t.TempDir(), spec, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := writePlays(ctx, built.DataDir, s.plays); err != nil {
		t.Fatal(err)
	}
	store, err := sqlite.Open(ctx, datadir.StorePath(built.DataDir))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var (
		after  *relay.TrendingKey
		ranked int
		sum    int64
		prev   int64 = -1
	)
	for {
		page, err := store.Trending(ctx, open-playDays*24, open, after, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, tr := range page {
			if prev >= 0 && tr.Plays > prev {
				t.Fatalf("trending not by plays: %d after %d", tr.Plays, prev)
			}
			prev = tr.Plays
			sum += tr.Plays
			ranked++
		}
		if len(page) < 100 {
			break
		}
		k := page[len(page)-1].TrendingKey()
		after = &k
	}
	if ranked != s.playTracks || sum != total {
		t.Errorf("trending ranks %d tracks with %d plays; wrote %d tracks with %d", ranked, sum, s.playTracks, total)
	}
}
