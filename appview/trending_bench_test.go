package appview

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/relaymusic/relay"
	"github.com/relaymusic/relay/plays"
)

// BenchmarkTrending: getTrending's week through HTTP over 20k tracks and a
// week of closed hours' plays (480k rows, as sqlite's BenchmarkTrending),
// its first page and the page after 950 (the 20th, still in the ranking's
// head of trendingHead). Before 8a48b45 every page summed every play row.
func BenchmarkTrending(b *testing.B) {
	const tracks, hours, window = 20000, 24, 168
	e := newEnv(b)
	ctx := context.Background()
	open := plays.OpenHour(time.Now())
	var counts []relay.PlayCount
	for n := 0; n < tracks; n += 1000 {
		evs := make([]relay.Event, 1000)
		for i := range evs {
			evs[i] = e.track(fmt.Sprintf("song %d", n+i), "a", time.Now().Add(-48*time.Hour))
			tr := evs[i].Track
			for h := range hours {
				counts = append(counts, relay.PlayCount{DID: tr.DID, Collection: tr.Collection, RKey: tr.RKey,
					Hour: open - 1 - int64((n+i+h*7)%(window-1)), N: int64(1 + (n+i)%13)})
			}
		}
		e.add(evs...)
	}
	if err := e.store.AddPlays(ctx, counts); err != nil {
		b.Fatal(err)
	}
	params := url.Values{"window": {"week"}, "limit": {"50"}}
	deep := url.Values{"window": {"week"}, "limit": {"50"}}
	for range 19 {
		status, body := e.get("/xrpc/app.relay.feed.getTrending", deep)
		cursor, _ := body["cursor"].(string)
		if status != http.StatusOK || cursor == "" {
			b.Fatalf("getTrending: %d %v", status, body)
		}
		deep.Set("cursor", cursor)
	}
	// The page after 5000: past the head of 1000 that trendingHead once
	// was, where every page summed every play row again.
	deeper := url.Values{"window": {"week"}, "limit": {"50"}, "cursor": {deep.Get("cursor")}}
	for range 81 {
		status, body := e.get("/xrpc/app.relay.feed.getTrending", deeper)
		cursor, _ := body["cursor"].(string)
		if status != http.StatusOK || cursor == "" {
			b.Fatalf("getTrending: %d %v", status, body)
		}
		deeper.Set("cursor", cursor)
	}
	for _, bc := range []struct {
		name   string
		params url.Values
	}{{"first page", params}, {"page after 950", deep}, {"page after 5000", deeper}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				status, body := e.get("/xrpc/app.relay.feed.getTrending", bc.params)
				if feed, _ := body["feed"].([]any); status != http.StatusOK || len(feed) != 50 {
					b.Fatalf("getTrending: %d, %d tracks", status, len(feed))
				}
			}
		})
	}
}
