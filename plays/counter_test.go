package plays_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/relaymusic/relay"
	"github.com/relaymusic/relay/plays"
	"github.com/relaymusic/relay/sqlite"
)

const artist = syntax.DID("did:plc:plays4rxbvqptxhmrrkjtu6m")

// openStore is a real store in a temp dir holding n tracks; it returns
// their rkeys.
func openStore(t *testing.T, n int) (*sqlite.Store, []syntax.RecordKey) {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "relay.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var evs []relay.Event
	var rkeys []syntax.RecordKey
	for i := range n {
		rk := syntax.RecordKey(syntax.NewTID(created.UnixMicro()+int64(i), 0).String())
		rkeys = append(rkeys, rk)
		evs = append(evs, relay.Event{Kind: relay.TrackPut, DID: artist, Track: &relay.Track{
			DID: artist, Collection: relay.TrackCollection, RKey: rk, Rev: syntax.NewTIDNow(0).String(),
			Title: fmt.Sprint("t", i), Artist: "a", FileType: "mp3", AudioURL: "https://audio.example/a.mp3",
			Record: []byte(`{}`), CreatedAt: created,
		}})
	}
	if _, err := s.ApplyBatch(t.Context(), evs, 0); err != nil {
		t.Fatal(err)
	}
	return s, rkeys
}

// plays reads the plays of every track in the hours [since, until) back
// through Trending.
func playsIn(t *testing.T, s *sqlite.Store, since, until int64) map[syntax.RecordKey]int64 {
	t.Helper()
	rows, err := s.Trending(t.Context(), since, until, nil, 100)
	if err != nil {
		t.Fatal(err)
	}
	out := map[syntax.RecordKey]int64{}
	for _, r := range rows {
		out[r.RKey] = r.Plays
	}
	return out
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }
func addr(s string) netip.Addr   { return netip.MustParseAddr(s) }
func quiet() *slog.Logger        { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
func hour(t time.Time) int64     { return t.Unix() / relay.HourSeconds }

func TestCounterFlushesAtShutdown(t *testing.T) {
	s, rk := openStore(t, 2)
	reg := prometheus.NewRegistry()
	clk := &clock{t: time.Date(2026, 3, 1, 12, 10, 0, 0, time.UTC)}
	c := plays.NewCounter(plays.Config{Store: s, Log: quiet(), Metrics: plays.NewMetrics(reg), FlushEvery: time.Hour, Now: clk.now})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()

	for _, p := range []struct {
		who  string
		rkey syntax.RecordKey
		want bool
	}{
		{"192.0.2.1", rk[0], true},
		{"192.0.2.1", rk[0], false}, // repeat
		{"192.0.2.2", rk[0], true},
		{"2001:db8::1", rk[0], true},
		{"192.0.2.1", rk[1], true},
	} {
		if got := c.Play(addr(p.who), artist, relay.TrackCollection, p.rkey); got != p.want {
			t.Errorf("Play(%s, %s) = %v, want %v", p.who, p.rkey, got, p.want)
		}
	}
	c.UnknownTrack()
	// Nothing is written before a flush: /play never waited on SQLite.
	h := hour(clk.now())
	if got := playsIn(t, s, h, h+1); len(got) != 0 {
		t.Fatalf("plays in the store before any flush: %v", got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got := playsIn(t, s, h, h+1)
	if got[rk[0]] != 3 || got[rk[1]] != 1 || len(got) != 2 {
		t.Errorf("plays after shutdown = %v, want %s:3 %s:1", got, rk[0], rk[1])
	}
	for result, want := range map[string]float64{"counted": 4, "repeat": 1, "unknown_track": 1, "dropped": 0} {
		if n := playsTotal(t, reg, result); n != want {
			t.Errorf("relay_plays_total{result=%q} = %v, want %v", result, n, want)
		}
	}
}

// playsTotal reads relay_plays_total{result} from what reg gathers.
func playsTotal(t *testing.T, reg *prometheus.Registry, result string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "relay_plays_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() == result {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no relay_plays_total{result=%q}", result)
	return 0
}

// TestFlushBooksLateCountsNow: a count of an hour already over when it is
// flushed goes to the hour in progress, so a closed hour never changes.
func TestFlushBooksLateCountsNow(t *testing.T) {
	s, rk := openStore(t, 1)
	end := time.Date(2026, 3, 1, 13, 0, 0, 0, time.UTC)
	clk := &clock{t: end.Add(-2 * time.Second)}
	c := plays.NewCounter(plays.Config{Store: s, Log: quiet(), Now: clk.now})
	c.Play(addr("192.0.2.1"), artist, relay.TrackCollection, rk[0])
	clk.set(end.Add(3 * time.Second))
	c.Play(addr("192.0.2.2"), artist, relay.TrackCollection, rk[0])
	if err := c.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := playsIn(t, s, hour(end)-1, hour(end)); len(got) != 0 {
		t.Errorf("the closed hour changed: %v", got)
	}
	if got := playsIn(t, s, hour(end), hour(end)+1); got[rk[0]] != 2 {
		t.Errorf("hour in progress = %v, want both plays", got)
	}
	// The hour just over is still open for trending for Settle.
	if plays.OpenHour(end.Add(plays.Settle-time.Second)) != hour(end)-1 ||
		plays.OpenHour(end.Add(plays.Settle)) != hour(end) {
		t.Error("OpenHour does not keep the hour just over open for Settle")
	}
	if plays.FlushTimeout >= plays.Settle {
		t.Error("a flush may outlast Settle: a closed hour could change")
	}
}

// failing is the real store, made to fail its first writes.
type failing struct {
	*sqlite.Store
	fails atomic.Int32
}

func (f *failing) AddPlays(ctx context.Context, counts []relay.PlayCount) error {
	if f.fails.Add(-1) >= 0 {
		return errors.New("disk on fire")
	}
	return f.Store.AddPlays(ctx, counts)
}

func TestFlushFailureKeepsCounts(t *testing.T) {
	s, rk := openStore(t, 1)
	reg := prometheus.NewRegistry()
	st := &failing{Store: s}
	st.fails.Store(2)
	clk := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	c := plays.NewCounter(plays.Config{Store: st, Log: quiet(), Metrics: plays.NewMetrics(reg), Now: clk.now})
	c.Play(addr("192.0.2.1"), artist, relay.TrackCollection, rk[0])
	for range 2 {
		if err := c.Flush(t.Context()); err == nil {
			t.Fatal("a failing flush reported no error")
		}
	}
	c.Play(addr("192.0.2.2"), artist, relay.TrackCollection, rk[0])
	if err := c.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	h := hour(clk.now())
	if got := playsIn(t, s, h, h+1); got[rk[0]] != 2 {
		t.Errorf("plays = %v, want 2 (the failed flushes' count kept)", got)
	}
	if n, err := testutil.GatherAndCount(reg, "relay_plays_flush_errors_total"); err != nil || n != 1 {
		t.Fatalf("flush errors series: %d, %v", n, err)
	}
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == "relay_plays_flush_errors_total" && mf.GetMetric()[0].GetCounter().GetValue() != 2 {
			t.Errorf("flush errors = %v, want 2", mf.GetMetric()[0].GetCounter().GetValue())
		}
	}
}

// TestPendingBound crosses MaxPending: a play of a track not already
// waiting is dropped (and counted so) once the bound is reached.
func TestPendingBound(t *testing.T) {
	s, rk := openStore(t, 3)
	reg := prometheus.NewRegistry()
	clk := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	c := plays.NewCounter(plays.Config{Store: s, Log: quiet(), Metrics: plays.NewMetrics(reg), MaxPending: 2, Now: clk.now})
	for i, r := range []syntax.RecordKey{rk[0], rk[1], rk[2], rk[0]} {
		c.Play(addr(fmt.Sprintf("192.0.2.%d", i+1)), artist, relay.TrackCollection, r)
	}
	if err := c.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	h := hour(clk.now())
	got := playsIn(t, s, h, h+1)
	if got[rk[0]] != 2 || got[rk[1]] != 1 || got[rk[2]] != 0 {
		t.Errorf("plays = %v, want rk0:2 rk1:1 and rk2 dropped", got)
	}
	if n := playsTotal(t, reg, "dropped"); n != 1 {
		t.Errorf("dropped = %v, want 1", n)
	}
}

// TestCounterConcurrent plays from many goroutines while Run flushes:
// every counted play reaches the store, once.
func TestCounterConcurrent(t *testing.T) {
	s, rk := openStore(t, 4)
	c := plays.NewCounter(plays.Config{Store: s, Log: quiet(), FlushEvery: 5 * time.Millisecond})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	start := time.Now()
	var counted atomic.Int64
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				a := netip.AddrFrom4([4]byte{192, 0, byte(g), byte(i % 100)})
				if c.Play(a, artist, relay.TrackCollection, rk[i%len(rk)]) {
					counted.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, n := range playsIn(t, s, hour(start), hour(time.Now())+1) {
		sum += n
	}
	if sum != counted.Load() || sum == 0 {
		t.Errorf("store holds %d plays, %d counted", sum, counted.Load())
	}
}

// BenchmarkPlay is the cost /play adds to a request: the listener's HMAC,
// the dedupe and the count in memory (no store write).
func BenchmarkPlay(b *testing.B) {
	c := plays.NewCounter(plays.Config{Store: nil, Log: quiet()})
	rk := syntax.RecordKey("3kaaaaaaaaaaa")
	i := 0
	for b.Loop() {
		i++
		c.Play(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), artist, relay.TrackCollection, rk)
	}
}

// TestIPv6ListenerIsItsPrefix: the addresses of one IPv6 /64 are one
// listener (a client holds the whole prefix), another /64 is another;
// IPv4 addresses stay apart.
func TestIPv6ListenerIsItsPrefix(t *testing.T) {
	s, rk := openStore(t, 1)
	clk := &clock{t: time.Date(2026, 3, 1, 13, 0, 0, 0, time.UTC)}
	c := plays.NewCounter(plays.Config{Store: s, Log: quiet(), Now: clk.now})
	for _, tc := range []struct {
		who  string
		want bool
	}{
		{"2001:db8:1:2::1", true},
		{"2001:db8:1:2:ffff:ffff:ffff:fffe", false}, // same /64
		{"2001:db8:1:3::1", true},                   // the next /64
		{"192.0.2.1", true},
		{"192.0.2.2", true},
		{"::ffff:192.0.2.3", true}, // IPv4 in IPv6 is its IPv4 address
	} {
		if got := c.Play(addr(tc.who), artist, relay.TrackCollection, rk[0]); got != tc.want {
			t.Errorf("Play from %s = %v, want %v", tc.who, got, tc.want)
		}
	}
}
