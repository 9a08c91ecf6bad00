package appview

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/relaymusic/relay"
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
