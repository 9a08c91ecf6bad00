package indexer

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/relaymusic/relay"
	"github.com/relaymusic/relay/internal/jetstreamtest"
	"github.com/relaymusic/relay/sqlite"
)

// gatedStore holds every ApplyBatch until open is closed, and records how
// many events each batch had.
type gatedStore struct {
	*sqlite.Store
	open    chan struct{}
	mu      sync.Mutex
	batches []int
}

func (g *gatedStore) ApplyBatch(ctx context.Context, evs []relay.Event, cursor int64) (relay.ApplyResult, error) {
	g.mu.Lock()
	g.batches = append(g.batches, len(evs))
	g.mu.Unlock()
	select {
	case <-g.open:
	case <-ctx.Done():
		return relay.ApplyResult{}, ctx.Err()
	}
	return g.Store.ApplyBatch(ctx, evs, cursor)
}

// TestBatchBytesBound: a backlog of large records (20 KB each)
// commits in batches bounded by BatchBytes rather than BatchSize, and
// while the store is stuck the reader stops taking events off the socket
// once 2*BatchBytes (plus one event) are held, rather than parse the whole
// backlog into memory. Everything is stored once the store answers.
func TestBatchBytesBound(t *testing.T) {
	const (
		did      = "did:plc:alice5rxbvqptxhmrrkjtu6m"
		n        = 60
		maxBytes = 128 << 10
	)
	base := time.Now().Add(-time.Hour).UnixMicro()
	// A field the lexicon does not name is kept (records are open), so
	// it makes a record large without breaking a length rule.
	rec := strings.Replace(goodRecord, `"fileType"`, `"linerNotes":"`+strings.Repeat("d", 20000)+`","fileType"`, 1)
	var frames []jetstreamtest.Frame
	for i := range n {
		rkey := syntax.NewTID(base+int64(i), 0).String()
		raw := strings.Replace(commitFrame(did, "create", "app.relay.track", rkey, "3mmoojp7vgo2a",
			"bafyreib2rxk3rybk3aobmv5cjuql3bm2twh4jo5uxcpjwbdlbbn5gyzmxq", rec), "1779719009132431", itoa(base+int64(i)+1), 1)
		f, err := jetstreamtest.ParseFrame([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		frames = append(frames, f)
	}
	srv := jetstreamtest.NewServer(frames)
	defer srv.Close()
	st := &gatedStore{Store: openStore(t), open: make(chan struct{})}
	if _, err := st.Store.ApplyBatch(context.Background(), nil, base); err != nil {
		t.Fatal(err)
	}
	m := NewMetrics(prometheus.NewRegistry())
	ix := New(Config{
		Store: st, Metrics: m, Log: quietLog(),
		Subscriber: SubscriberConfig{Hosts: []string{srv.URL()}},
		BatchSize:  1000, BatchBytes: maxBytes, BatchInterval: time.Hour,
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- ix.Run(ctx) }()

	per := itemBytes(relay.Event{Track: &relay.Track{Record: []byte(rec)}})
	perBatch := int((maxBytes + per - 1) / per)
	// Held: the batch being committed, the next one filling, one more
	// taken off the socket and waiting, and one event counted but not held.
	limit := int((2*maxBytes+maxItemBytes)/per) + 2
	received := func() int {
		return int(testutil.ToFloat64(m.events.WithLabelValues(eventLabels("commit", "create"))))
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		st.mu.Lock()
		started := len(st.batches) > 0
		st.mu.Unlock()
		if started && srv.Delivered() == n || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // let the reader run into its bound
	if got := received(); got > limit || got < perBatch {
		t.Fatalf("with the store stuck the reader took %d of %d events; want between %d and %d (%d bytes each, BatchBytes %d)",
			got, n, perBatch, limit, per, maxBytes)
	}
	close(st.open)
	runDeadline := time.Now().Add(10 * time.Second)
	for {
		if c, _ := st.Cursor(context.Background()); c == base+n {
			break
		}
		if time.Now().After(runDeadline) {
			t.Fatal("the backlog was not stored")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	for i, b := range st.batches {
		if b > perBatch {
			t.Errorf("batch %d held %d events of %d bytes, over BatchBytes %d (at most %d)", i, b, per, maxBytes, perBatch)
		}
	}
	if c, _ := st.Count(context.Background()); c.Visible != n {
		t.Errorf("%d tracks visible, want %d", c.Visible, n)
	}
}
