package sqlite

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
)

// BenchmarkTracks measures a getTracks of 25 at-uris drawn at random from
// 100k tracks of 500 artists: the lookup that hydrates getTracks, search
// hits and trending pages.
func BenchmarkTracks(b *testing.B) {
	const tracks, artists, batch, ask = 100000, 500, 5000, 25
	ctx := context.Background()
	s := openBench(b)
	rec := []byte(`{"$type":"app.relay.track","title":"t","artist":"a","audioUrl":"https://audio.relay.example/a.mp3","fileType":"mp3","createdAt":"2025-10-02T18:04:11.372Z"}`)
	uris := make([]syntax.ATURI, 0, tracks)
	for n := 0; n < tracks; n += batch {
		evs := make([]relay.Event, batch)
		for i := range evs {
			d := syntax.DID(fmt.Sprintf("did:plc:artist%018d", (n+i)%artists))
			rk := syntax.RecordKey(syntax.NewTID(int64(n+i), 0).String())
			evs[i] = relay.Event{Kind: relay.TrackPut, DID: d, Track: &relay.Track{
				DID: d, Collection: relay.TrackCollection, RKey: rk, Rev: syntax.NewTID(int64(n+i), 1).String(),
				Title: "t", Artist: "a", FileType: "mp3", AudioURL: "https://audio.relay.example/a.mp3", Record: rec, CreatedAt: time.Now(),
			}}
			uris = append(uris, relay.TrackURI(d, relay.TrackCollection, rk))
		}
		if _, err := s.ApplyBatch(ctx, evs, int64(n)); err != nil {
			b.Fatal(err)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	sets := make([][]syntax.ATURI, 200)
	for i := range sets {
		for range ask {
			sets[i] = append(sets[i], uris[r.IntN(len(uris))])
		}
	}
	i := 0
	for b.Loop() {
		got, err := s.Tracks(ctx, sets[i%len(sets)])
		if err != nil || len(got) != ask {
			b.Fatalf("Tracks: %d of %d, %v", len(got), ask, err)
		}
		i++
	}
}
