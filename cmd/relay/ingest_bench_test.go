package main

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/goccy/go-json"
	"github.com/gorilla/websocket"

	"github.com/bluesky-social/jetstream/pkg/models"

	"github.com/relaymusic/relay/internal/jetstreamtest"
)

// BenchmarkIngest replays a jetstream stream over a loopback websocket into
// a real `relay serve` (SQLite and Bleve on disk) as fast as it takes it, and
// measures events/s until everything is committed and searchable. The
// baseline, measured in the same run, is the same stream read off the same
// kind of socket and decoded into Go structs, then discarded: the ceiling for
// any consumer.
//
//	go test -run '^$' -bench BenchmarkIngest -benchtime 1x ./cmd/relay/
//
// RELAY_BENCH_EVENTS overrides the stream length (default 100000).
func BenchmarkIngest(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("RELAY_BENCH_EVENTS")); err == nil && v > 0 {
		n = v
	}
	frames, exp := jetstreamtest.Generate(jetstreamtest.StreamSpec{
		Events: n, Seed: 1, Start: time.Now().Add(-3 * time.Hour).UnixMicro(),
	})
	srv := jetstreamtest.NewServer(frames)
	defer srv.Close()

	for b.Loop() {
		base := decodeBaseline(b, srv.URL(), frames[0].TimeUS, len(frames))

		dir := b.TempDir()
		start := time.Now()
		args := []string{"--data-dir", dir, "--jetstream-url", srv.URL(), "--jetstream-cursor", itoa(frames[0].TimeUS)}
		if a := os.Getenv("RELAY_BENCH_PPROF"); a != "" {
			args = append(args, "--pprof-listen", a)
		}
		p := startRelay(b, args...)
		// Two clocks: SQLite has it all (the cursor reached the last event),
		// and search has it all too (the index applied the whole outbox).
		var stored time.Duration
		for stored == 0 {
			if h, err := p.Health(); err == nil && h.Ingest.Cursor >= exp.LastTimeUS {
				stored = time.Since(start)
			}
			time.Sleep(5 * time.Millisecond)
		}
		p.WaitCaughtUp(b, exp.LastTimeUS, 20*time.Minute)
		took := time.Since(start)
		rss := peakRSS(p.Cmd.Process.Pid)
		p.Signal(syscall.SIGTERM, 30*time.Second)

		rate := float64(len(frames)) / took.Seconds()
		b.ReportMetric(float64(len(frames))/stored.Seconds(), "sqlite-events/s")
		b.ReportMetric(rate, "events/s")
		b.ReportMetric(base, "baseline-events/s")
		b.ReportMetric(100*rate/base, "%-of-baseline")
		b.ReportMetric(float64(rss)/(1<<20), "peak-RSS-MB")
		b.Logf("%d events: into SQLite in %.1fs; searchable: relay %.0f events/s (%.1fs), decode-only baseline %.0f events/s, ratio %.1f%%, peak RSS %.0f MB",
			len(frames), stored.Seconds(), rate, took.Seconds(), base, 100*rate/base, float64(rss)/(1<<20))
	}
}

// decodeBaseline reads want frames from cursor and decodes each into a
// models.Event; it returns events/s.
func decodeBaseline(b *testing.B, url string, cursor int64, want int) float64 {
	b.Helper()
	u := url + "?wantedCollections=app.relay.track&cursor=" + itoa(cursor)
	conn, _, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	for i := 0; i < want; i++ {
		_, msg, err := conn.ReadMessage()
		if err != nil {
			b.Fatal(err)
		}
		var evt models.Event
		_ = json.Unmarshal(msg, &evt)
	}
	return float64(want) / time.Since(start).Seconds()
}

// peakRSS reads a process's peak resident set (VmHWM) in bytes.
func peakRSS(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
