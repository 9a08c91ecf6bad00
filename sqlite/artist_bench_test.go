package sqlite

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
)

// BenchmarkArtists measures hydrating a page's artists: Artists of 50 DIDs,
// the ten largest among them, over 100k tracks by 500 artists skewed as
// the network is (ten with 2000 to 5000 tracks each, the rest about 130).
// Before e49db21 each call counted every track of each artist.
func BenchmarkArtists(b *testing.B) {
	s, page, want := artistBenchStore(b)
	ctx := context.Background()
	for b.Loop() {
		got, err := s.Artists(ctx, page)
		if err != nil || len(got) != len(page) {
			b.Fatalf("Artists: %d of %d, %v", len(got), len(page), err)
		}
		for _, a := range got {
			if a.TrackCount != want[a.DID] {
				b.Fatalf("%s: %d tracks, want %d", a.DID, a.TrackCount, want[a.DID])
			}
		}
	}
}

// artistBenchStore is BenchmarkArtists' store: 100k tracks by 500 artists
// (the ten largest with 2000 to 5000 tracks each, the rest about 130), each
// crediting one of a few names per artist on its tracks. It returns the
// store, a page's 50 DIDs (the ten largest and 40 others) and each
// artist's track count.
func artistBenchStore(b *testing.B) (*Store, []syntax.DID, map[syntax.DID]int64) {
	b.Helper()
	const tracks, artists, big, batch = 100000, 500, 10, 5000
	ctx := context.Background()
	s := openBench(b)
	did := func(a int) syntax.DID { return syntax.DID(fmt.Sprintf("did:plc:artist%018d", a)) }
	// owner[i] is track i's artist: the big ones first, the rest round robin.
	want := map[syntax.DID]int64{}
	owner := make([]int, 0, tracks)
	for a := range big {
		for range 2000 + a*333 {
			owner = append(owner, a)
		}
	}
	for i := 0; len(owner) < tracks; i++ {
		owner = append(owner, big+i%(artists-big))
	}
	rec := []byte(`{"$type":"app.relay.track","title":"t","artist":"a","audioUrl":"https://audio.relay.example/a.mp3","fileType":"mp3","createdAt":"2025-10-02T18:04:11.372Z"}`)
	for n := 0; n < tracks; n += batch {
		evs := make([]relay.Event, batch)
		for i := range evs {
			d := did(owner[n+i])
			want[d]++
			evs[i] = relay.Event{Kind: relay.TrackPut, DID: d, Track: &relay.Track{
				DID: d, Collection: relay.TrackCollection, RKey: syntax.RecordKey(syntax.NewTID(int64(n+i), 0).String()), Rev: syntax.NewTID(int64(n+i), 1).String(),
				Title: "t", Artist: fmt.Sprintf("artist %d feat. %d", owner[n+i], want[d]%5), FileType: "mp3", AudioURL: "https://audio.relay.example/a.mp3", Record: rec, CreatedAt: time.Now(),
			}}
		}
		if _, err := s.ApplyBatch(ctx, evs, int64(n)); err != nil {
			b.Fatal(err)
		}
	}
	// A page's 50: the ten largest and 40 others spread over the rest.
	var page []syntax.DID
	for a := range big {
		page = append(page, did(a))
	}
	for a := big; len(page) < 50; a += (artists - big) / 40 {
		page = append(page, did(a))
	}
	return s, page, want
}

// BenchmarkArtistNames measures what the search index reads to rebuild the
// artist documents of a batch: ArtistNames of the same 50 DIDs, the ten
// largest among them, 16 names each at most.
func BenchmarkArtistNames(b *testing.B) {
	s, page, _ := artistBenchStore(b)
	ctx := context.Background()
	for b.Loop() {
		got, err := s.ArtistNames(ctx, page, 16)
		if err != nil || len(got) != len(page) {
			b.Fatalf("ArtistNames: %d of %d, %v", len(got), len(page), err)
		}
		for d, ns := range got {
			if len(ns) != 5 {
				b.Fatalf("%s: %d names, want 5", d, len(ns))
			}
		}
	}
}
