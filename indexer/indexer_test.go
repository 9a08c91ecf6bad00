package indexer

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/relaymusic/relay"
	"github.com/relaymusic/relay/internal/jetstreamtest"
	"github.com/relaymusic/relay/sqlite"
	"github.com/relaymusic/relay/validate"
)

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "relay.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// runIndexer runs an indexer against the server until the store's cursor
// reaches last, then stops it the way serve does (cancel, flush). It returns
// the indexer's metrics, on a registry of its own.
func runIndexer(t *testing.T, s *sqlite.Store, srv *jetstreamtest.Server, last int64) *Metrics {
	t.Helper()
	m := NewMetrics(prometheus.NewRegistry())
	ix := New(Config{
		Metrics: m,
		Store:   s,
		Subscriber: SubscriberConfig{
			Hosts:      []string{srv.URL()},
			MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
		},
		BatchSize: 7, BatchInterval: 10 * time.Millisecond,
		Log: quietLog(),
	})
	runIndexerWith(t, ix, s, last)
	return m
}

// runIndexerWith runs ix until the store's cursor reaches last, then stops
// it the way serve does.
func runIndexerWith(t *testing.T, ix *Indexer, s *sqlite.Store, last int64) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ix.Run(ctx) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := s.Cursor(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if c >= last {
			break
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("cursor %d never reached %d", c, last)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func rejected(m *Metrics, reason string) float64 {
	return testutil.ToFloat64(m.rejected.WithLabelValues(reason))
}

func TestIndexerRecordedFrames(t *testing.T) {
	frames, err := jetstreamtest.LoadFrames("testdata/stream.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	srv := jetstreamtest.NewServer(frames)
	defer srv.Close()
	s := openStore(t)
	// A fresh consumer starts at the live tip; seed a cursor so it replays
	// the recording from the start, as after a restart.
	if _, err := s.ApplyBatch(context.Background(), nil, frames[0].TimeUS); err != nil {
		t.Fatal(err)
	}

	reasons := []string{validate.ReasonInvalidRecord, validate.ReasonBadRKey, validate.ReasonInsecureURL, ReasonBadDID, ReasonBadRev, ReasonBadCID, ReasonBadOperation, ReasonUndecodable}
	m := runIndexer(t, s, srv, frames[len(frames)-1].TimeUS)

	rows, err := s.Feed(context.Background(), nil, 100)
	if err != nil {
		t.Fatal(err)
	}
	var titles []string
	for _, r := range rows {
		titles = append(titles, r.Title)
	}
	want := []string{"Future Days", "Hoppípolla (live)", "Last one", "Bad rev follows"}
	if len(titles) != len(want) {
		t.Fatalf("feed = %q, want %q", titles, want)
	}
	for i := range want {
		if titles[i] != want[i] {
			t.Fatalf("feed = %q, want %q", titles, want)
		}
	}
	if rows[1].Handle != "alice.example.com" {
		t.Errorf("handle = %q", rows[1].Handle)
	}
	wantRejected := map[string]float64{validate.ReasonInvalidRecord: 2, validate.ReasonBadRKey: 1, validate.ReasonInsecureURL: 1, ReasonBadDID: 1, ReasonBadRev: 1, ReasonBadCID: 1, ReasonBadOperation: 1, ReasonUndecodable: 1}
	for _, r := range reasons {
		if got := rejected(m, r); got != wantRejected[r] {
			t.Errorf("rejected{%s} += %v, want %v", r, got, wantRejected[r])
		}
	}
	// The filter is asked for, so the post never arrives.
	for _, req := range srv.Requests() {
		if len(req.Collections) != 1 || req.Collections[0] != relay.TrackCollection {
			t.Errorf("wantedCollections = %q", req.Collections)
		}
	}
	// Bob's track is hidden, not gone. The deleted track is a tombstone, and
	// so is every key whose latest record was invalid (missing fileType,
	// http audio, bad cid, too many tags).
	c, _ := s.Count(context.Background())
	if c.Visible != 4 || c.Hidden != 1 || c.Tombstoned != 5 {
		t.Errorf("counts = %+v", c)
	}
}

// TestIndexerReconnects drops the connection every few frames: the consumer
// reconnects, each reconnect asks for a cursor at or before the last event it
// received (a rewind, never a skip), and the end state is the same as one
// clean pass.
func TestIndexerReconnects(t *testing.T) {
	frames, exp := jetstreamtest.Generate(jetstreamtest.StreamSpec{Events: 600, Seed: 7, Accounts: 15})
	srv := jetstreamtest.NewServer(frames)
	defer srv.Close()
	srv.DropConnections(45, 20)
	s := openStore(t)
	if _, err := s.ApplyBatch(context.Background(), nil, frames[0].TimeUS); err != nil {
		t.Fatal(err)
	}
	runIndexer(t, s, srv, exp.LastTimeUS)

	reqs := srv.Requests()
	if len(reqs) < 10 {
		t.Fatalf("only %d connections; the drops did not happen", len(reqs))
	}
	for i := 1; i < len(reqs); i++ {
		prev, cur := reqs[i-1], reqs[i]
		if cur.Cursor == 0 {
			t.Fatalf("reconnect %d asked for the live tip: events would be skipped", i)
		}
		if prev.LastSent > 0 && cur.Cursor > prev.LastSent {
			t.Errorf("reconnect %d resumed at %d, after the last event received %d: skipped", i, cur.Cursor, prev.LastSent)
		}
		if prev.LastSent > 0 && cur.Cursor >= prev.LastSent {
			t.Errorf("reconnect %d did not rewind (%d >= %d)", i, cur.Cursor, prev.LastSent)
		}
	}
	assertState(t, s, exp)
}

func assertState(t *testing.T, s *sqlite.Store, exp jetstreamtest.Expected) {
	t.Helper()
	if err := exp.CheckStore(context.Background(), s); err != nil {
		t.Fatal(err)
	}
}

// TestCursorTooOld: a stored cursor older than the upstream keeps means
// events were missed; it is flagged, not silently resumed.
func TestCursorTooOld(t *testing.T) {
	srv := jetstreamtest.NewServer(nil)
	defer srv.Close()
	s := openStore(t)
	old := time.Now().Add(-40 * time.Hour).UnixMicro()
	if _, err := s.ApplyBatch(context.Background(), nil, old); err != nil {
		t.Fatal(err)
	}
	// One Metrics for both runs, as for one process: the second must clear it.
	m := NewMetrics(prometheus.NewRegistry())
	ix := New(Config{Store: s, Subscriber: SubscriberConfig{Hosts: []string{srv.URL()}}, Log: quietLog(), Metrics: m})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ix.Run(ctx) }()
	for len(srv.Requests()) == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	st := ix.Status()
	if !strings.Contains(st.Warning, "missed") || !strings.Contains(st.Warning, "relay backfill") {
		t.Errorf("warning = %q", st.Warning)
	}
	if testutil.ToFloat64(m.cursorTooOld) != 1 {
		t.Error("relay_ingest_cursor_too_old is not 1")
	}
	// It still asks for what the upstream has, from just before the cursor.
	if c := srv.Requests()[0].Cursor; c >= old || c < old-int64(10*time.Second/time.Microsecond) {
		t.Errorf("resumed at %d, stored %d", c, old)
	}

	// A recent cursor clears the flag.
	s2 := openStore(t)
	if _, err := s2.ApplyBatch(context.Background(), nil, time.Now().Add(-time.Hour).UnixMicro()); err != nil {
		t.Fatal(err)
	}
	ix2 := New(Config{Store: s2, Subscriber: SubscriberConfig{Hosts: []string{srv.URL()}}, Log: quietLog(), Metrics: m})
	ctx2, cancel2 := context.WithCancel(context.Background())
	go func() { done <- ix2.Run(ctx2) }()
	for len(srv.Requests()) < 2 {
		time.Sleep(5 * time.Millisecond)
	}
	cancel2()
	<-done
	if ix2.Status().Warning != "" || testutil.ToFloat64(m.cursorTooOld) != 0 {
		t.Errorf("recent cursor flagged: %q", ix2.Status().Warning)
	}
}

// TestFailover: a dead host is left for the next one in the list.
func TestFailover(t *testing.T) {
	frames, exp := jetstreamtest.Generate(jetstreamtest.StreamSpec{Events: 50, Seed: 3})
	srv := jetstreamtest.NewServer(frames)
	defer srv.Close()
	s := openStore(t)
	if _, err := s.ApplyBatch(context.Background(), nil, frames[0].TimeUS); err != nil {
		t.Fatal(err)
	}
	dead := "ws://127.0.0.1:1/subscribe" // nothing listens on port 1
	m := NewMetrics(prometheus.NewRegistry())
	ix := New(Config{
		Metrics: m,
		Store:   s,
		Subscriber: SubscriberConfig{
			Hosts:      []string{dead, srv.URL()},
			MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond,
		},
		BatchInterval: 5 * time.Millisecond,
		Log:           quietLog(),
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ix.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, _ := s.Cursor(context.Background()); c >= exp.LastTimeUS {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("never failed over to the live host")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if got := testutil.ToFloat64(m.reconnects.WithLabelValues("127.0.0.1:1")); got != 3 {
		t.Errorf("failures on the dead host = %v, want 3 before failing over", got)
	}
	assertState(t, s, exp)
}

// TestInvalidUpdateHides: a valid track updated to an invalid record is no
// longer shown (the repo holds no valid version of it), and a later valid
// update shows it again.
func TestInvalidUpdateHides(t *testing.T) {
	const (
		did  = "did:plc:alice5rxbvqptxhmrrkjtu6m"
		rkey = "3mmoojp7etg2a"
		cid  = "bafyreib2rxk3rybk3aobmv5cjuql3bm2twh4jo5uxcpjwbdlbbn5gyzmxq"
	)
	mk := func(timeUS int64, rev, record string) jetstreamtest.Frame {
		raw := strings.Replace(commitFrame(did, "update", "app.relay.track", rkey, rev, cid, record), "1779719009132431", itoa(timeUS), 1)
		f, _ := jetstreamtest.ParseFrame([]byte(raw))
		return f
	}
	base := time.Now().Add(-time.Hour).UnixMicro()
	steps := []struct {
		frame   jetstreamtest.Frame
		visible bool
	}{
		{mk(base+1, "3mmoojp7vgo2a", goodRecord), true},
		{mk(base+2, "3mmoojp7vgo2b", strings.Replace(goodRecord, "https:", "http:", 1)), false},
		{mk(base+3, "3mmoojp7vgo2c", strings.Replace(goodRecord, "Jóga", "Jóga (remaster)", 1)), true},
	}
	s := openStore(t)
	if _, err := s.ApplyBatch(context.Background(), nil, base); err != nil {
		t.Fatal(err)
	}
	srv := jetstreamtest.NewServer(nil)
	defer srv.Close()
	for i, st := range steps {
		srv.Append(st.frame)
		runIndexer(t, s, srv, st.frame.TimeUS)
		c, _ := s.Count(context.Background())
		if (c.Visible == 1) != st.visible {
			t.Fatalf("step %d: visible = %d, want shown=%v", i, c.Visible, st.visible)
		}
	}
	rows, _ := s.Feed(context.Background(), nil, 10)
	if len(rows) != 1 || rows[0].Title != "Jóga (remaster)" {
		t.Fatalf("feed = %+v", rows)
	}
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// failingStore fails every ApplyBatch while failing is set: a store that is
// locked or out of disk.
type failingStore struct {
	*sqlite.Store
	failing  atomic.Bool
	attempts atomic.Int32
}

func (f *failingStore) ApplyBatch(ctx context.Context, evs []relay.Event, cursor int64) (relay.ApplyResult, error) {
	f.attempts.Add(1)
	if f.failing.Load() {
		return relay.ApplyResult{}, errors.New("database is locked")
	}
	return f.Store.ApplyBatch(ctx, evs, cursor)
}

// TestUncommittedBatchIsNotSkipped: a batch that cannot be committed before
// shutdown must not be overtaken by a later one, whose cursor would skip it
// at the next start.
func TestUncommittedBatchIsNotSkipped(t *testing.T) {
	frames, _ := jetstreamtest.Generate(jetstreamtest.StreamSpec{Events: 40, Seed: 9})
	srv := jetstreamtest.NewServer(frames)
	defer srv.Close()
	st := &failingStore{Store: openStore(t)}
	start := frames[0].TimeUS
	if _, err := st.Store.ApplyBatch(context.Background(), nil, start); err != nil {
		t.Fatal(err)
	}
	st.failing.Store(true)
	ix := New(Config{Store: st, Subscriber: SubscriberConfig{Hosts: []string{srv.URL()}}, BatchSize: 4, BatchInterval: time.Hour, Log: quietLog()})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ix.Run(ctx) }()
	for st.attempts.Load() == 0 || srv.Delivered() < len(frames) {
		time.Sleep(2 * time.Millisecond)
	}
	cancel()
	st.failing.Store(false) // the store recovers just as we shut down
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if c, _ := st.Cursor(context.Background()); c != start {
		t.Fatalf("stored cursor moved to %d past an uncommitted batch (start %d)", c, start)
	}
}
