package sqlite

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
)

// BenchmarkTrending measures a page of 50 over a week of plays: 20k
// tracks, each played in 24 of the week's 168 hours (480k plays rows),
// first page and a page deep in the ranking.
func BenchmarkTrending(b *testing.B) {
	const tracks, hours, window = 20000, 24, 168
	ctx := context.Background()
	s := openBench(b)
	rec := []byte(`{"$type":"app.relay.track","title":"t","artist":"a","audioUrl":"https://audio.relay.example/a.mp3","fileType":"mp3","createdAt":"2025-10-02T18:04:11.372Z"}`)
	var counts []relay.PlayCount
	for n := 0; n < tracks; n += 1000 {
		evs := make([]relay.Event, 1000)
		for i := range evs {
			did := syntax.DID(fmt.Sprintf("did:plc:bench%019d", (n+i)%2000))
			rkey := syntax.RecordKey(syntax.NewTID(int64(n+i), 0).String())
			evs[i] = relay.Event{Kind: relay.TrackPut, DID: did, Track: &relay.Track{
				DID: did, Collection: relay.TrackCollection, RKey: rkey, Rev: syntax.NewTID(int64(n+i), 1).String(),
				Title: "t", Artist: "a", FileType: "mp3", AudioURL: "https://audio.relay.example/a.mp3", Record: rec, CreatedAt: time.Now(),
			}}
			for h := range hours {
				counts = append(counts, relay.PlayCount{DID: did, Collection: relay.TrackCollection, RKey: rkey, Hour: int64((n + i + h*7) % window), N: int64(1 + (n+i)%13)})
			}
		}
		if _, err := s.ApplyBatch(ctx, evs, 0); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.AddPlays(ctx, counts); err != nil {
		b.Fatal(err)
	}
	first, err := s.Trending(ctx, 0, window, nil, 5000)
	if err != nil || len(first) != 5000 {
		b.Fatalf("Trending: %d rows, %v", len(first), err)
	}
	deep := first[len(first)-1].TrendingKey()
	for _, bc := range []struct {
		name  string
		after *relay.TrendingKey
	}{{"first page", nil}, {"page after 5000", &deep}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				rows, err := s.Trending(ctx, 0, window, bc.after, 50)
				if err != nil || len(rows) != 50 {
					b.Fatalf("Trending: %d rows, %v", len(rows), err)
				}
			}
		})
	}
}
