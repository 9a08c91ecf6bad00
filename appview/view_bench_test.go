package appview

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/relaymusic/relay"
	"github.com/relaymusic/relay/bench/corpus"
)

// BenchmarkFeedPage: one uncached feed page of 100 tracks with typical
// records, through HTTP; and the bytes a page of 100 records padded to the
// parser's 64 KiB cap comes to.
func BenchmarkFeedPage(b *testing.B) {
	for _, tc := range []struct {
		name string
		pad  int
	}{{"typical", 0}, {"64KiB-records", 63 << 10}} {
		b.Run(tc.name, func(b *testing.B) {
			e := newEnv(b)
			var events []relay.Event
			for i := range 100 {
				ev := e.track(fmt.Sprintf("song %d", i), "Björk", time.Now().Add(-time.Hour))
				if tc.pad > 0 {
					rec := strings.TrimSuffix(string(ev.Track.Record), "}") + `,"junk":"` + strings.Repeat("j", tc.pad) + `"}`
					ev.Track.Record = json.RawMessage(rec)
				}
				events = append(events, ev)
			}
			e.add(events...)
			var n int64
			b.ResetTimer()
			for range b.N {
				resp, err := http.Get(e.srv.URL + "/xrpc/app.relay.feed.getDiscoveryFeed?limit=100")
				if err != nil {
					b.Fatal(err)
				}
				n, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			b.ReportMetric(float64(n), "page-bytes")
		})
	}
}

// BenchmarkFeedDeep: getDiscoveryFeed pages of 50 at cursors 1k to 19k
// deep over 20k tracks of the bench corpus (bench/corpus: 1000 artists,
// features, genres and tags), through HTTP, as make bench's deep-page
// scenario asks them. The baseline is the trivial handler the bench
// compares against: an empty JSON answer through the same server stack.
func BenchmarkFeedDeep(b *testing.B) {
	e := newEnv(b)
	g := corpus.New(corpus.Spec{Seed: 1, Tracks: 20000})
	for {
		var evs []relay.Event
		for t := g.Next(); t != nil && len(evs) < 5000; t = g.Next() {
			evs = append(evs, relay.Event{Kind: relay.TrackPut, DID: t.DID, Track: t})
		}
		if len(evs) == 0 {
			break
		}
		if _, err := e.store.ApplyBatch(context.Background(), evs, 0); err != nil {
			b.Fatal(err)
		}
	}
	// The cursors after page 20 (1000 tracks deep) to page 400 (20000).
	var cursors []string
	c := ""
	for page := 1; page < 400; page++ {
		u := e.srv.URL + "/xrpc/app.relay.feed.getDiscoveryFeed?limit=50"
		if c != "" {
			u += "&cursor=" + c
		}
		var ans struct{ Cursor string }
		resp, err := http.Get(u)
		if err != nil {
			b.Fatal(err)
		}
		err = json.NewDecoder(resp.Body).Decode(&ans)
		resp.Body.Close()
		if err != nil || ans.Cursor == "" {
			b.Fatalf("page %d: cursor %q, %v", page, ans.Cursor, err)
		}
		c = ans.Cursor
		if page >= 20 {
			cursors = append(cursors, c)
		}
	}
	get := func(u string) int64 {
		resp, err := http.Get(u)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("%s: %d", u, resp.StatusCode)
		}
		return n
	}
	b.Run("deep", func(b *testing.B) {
		var n int64
		i := 0
		for b.Loop() {
			n = get(e.srv.URL + "/xrpc/app.relay.feed.getDiscoveryFeed?limit=50&cursor=" + cursors[i%len(cursors)])
			i++
		}
		b.ReportMetric(float64(n), "page-bytes")
	})
	b.Run("trivial", func(b *testing.B) {
		for b.Loop() {
			get(e.srv.URL + "/xrpc/_health")
		}
	})
}
