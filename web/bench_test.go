package web

import (
	"io"
	"net/http"
	"testing"
	"time"
)

// BenchmarkFeedPage is the discovery page (a full page of tracks) served
// over loopback from a real store, as a browser first asks it.
func BenchmarkFeedPage(b *testing.B) {
	e := newEnv(b)
	var specs []trackSpec
	for i := 0; i < pageSize+10; i++ {
		specs = append(specs, trackSpec{did: nova, title: "track " + itoa(int64(i)), artist: "nova", album: "tidelines", image: e.art(1), duration: 200, age: time.Duration(i) * time.Minute})
	}
	e.add(specs...)
	b.ReportAllocs()
	b.ResetTimer()
	var n int64
	for b.Loop() {
		resp, err := http.Get(e.srv.URL + "/")
		if err != nil {
			b.Fatal(err)
		}
		m, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		n = m
	}
	b.ReportMetric(float64(n), "bytes/page")
}
