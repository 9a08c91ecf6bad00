package search

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// headAhead reports an outbox head beyond what it hands out, as a store
// does while another process's commit is not visible to Changes yet.
type headAhead struct {
	*memStore
	ahead int64
}

func (s headAhead) OutboxSeq(ctx context.Context) (int64, error) {
	seq, err := s.memStore.OutboxSeq(ctx)
	return seq + s.ahead, err
}

// TestMetricsOnGivenRegistry checks that the index's series live on the
// registry OpenCurrent is given, two processes' worth side by side, and that
// the follower's lag is head minus applied.
func TestMetricsOnGivenRegistry(t *testing.T) {
	ctx := context.Background()
	tracks := catalogue()
	st := &memStore{tracks: tracks}
	st.add(changes(1, tracks...)...)

	regs := []*prometheus.Registry{prometheus.NewRegistry(), prometheus.NewRegistry()}
	for i, reg := range regs {
		m := NewMetrics(reg)
		ix, err := OpenCurrent(ctx, filepath.Join(t.TempDir(), "search.bleve"), st, m)
		if err != nil {
			t.Fatal(err)
		}
		defer ix.Close()
		// A new index at seq 0 with the outbox still holding seq 1 catches up.
		if n, err := testutil.GatherAndCount(reg, "relay_index_rebuilds_total"); err != nil || n != 3 {
			t.Errorf("registry %d: %d rebuild series (%v), want 3 (one per reason)", i, n, err)
		}
		ahead := int64(3 + i)
		fctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- ix.Follow(fctx, headAhead{st, ahead}, 5*time.Millisecond, nil) }()
		deadline := time.Now().Add(10 * time.Second)
		for testutil.ToFloat64(m.lag) != float64(ahead) {
			if time.Now().After(deadline) {
				t.Fatalf("registry %d: lag = %v, want %d", i, testutil.ToFloat64(m.lag), ahead)
			}
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
		<-done
	}
	for i, reg := range regs {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == "relay_index_lag_entries" {
				if got, want := mf.GetMetric()[0].GetGauge().GetValue(), float64(3+i); got != want {
					t.Errorf("registry %d: relay_index_lag_entries = %v, want %v (no leakage between registries)", i, got, want)
				}
			}
		}
	}
}
