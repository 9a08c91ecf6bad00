package search

import (
	"context"
	"iter"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/relaymusic/relay"
)

func TestCanCatchUp(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		applied, floor, head int64
		want                 bool
	}{
		{"new index, new store", 0, 0, 0, true},
		{"up to date, outbox pruned empty", 7, 0, 7, true},
		{"new index, outbox pruned empty", 0, 0, 7, false},
		{"behind, entries still there", 3, 4, 9, true},
		{"behind, needed entries pruned", 2, 4, 9, false},
		{"new index, outbox complete", 0, 1, 9, true},
		{"ahead of the store", 12, 4, 9, false},
		{"ahead of an emptied store", 12, 0, 9, false},
	} {
		if got := canCatchUp(tc.applied, tc.floor, tc.head); got != tc.want {
			t.Errorf("%s: canCatchUp(%d, %d, %d) = %v, want %v", tc.name, tc.applied, tc.floor, tc.head, got, tc.want)
		}
	}
}

// memStore is an in-memory Store: the outbox of fakeSource plus the visible
// tracks a rebuild lists.
type memStore struct {
	fakeSource
	tracks []*relay.Track
}

func (s *memStore) OutboxFloor(ctx context.Context) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.entries) == 0 {
		return 0, nil
	}
	return s.entries[0].Seq, nil
}

func (s *memStore) VisibleTracks(ctx context.Context) iter.Seq2[*relay.Track, error] {
	return seqOf(s.tracks)
}

// TestOpenCurrentRebuildsDamaged damages a real index on disk the ways
// disks and crashes do, and checks that OpenCurrent moves it aside, rebuilds
// it from the store with every track, and counts the rebuild.
func TestOpenCurrentRebuildsDamaged(t *testing.T) {
	ctx := context.Background()
	// flip inverts bits of p from lo (a fraction of its size) to hi, but
	// leaves the last tail bytes alone.
	flip := func(t *testing.T, p string, lo, hi float64, tail int) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for i := int(float64(len(b)) * lo); i < min(int(float64(len(b))*hi), len(b)-tail); i++ {
			b[i] ^= 0x5a
		}
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	zap := func(t *testing.T, dir string) string {
		m, err := filepath.Glob(filepath.Join(dir, "store", "*.zap"))
		if err != nil || len(m) == 0 {
			t.Fatalf("no zap segment in %s: %v", dir, err)
		}
		return m[0]
	}
	// reasons are the rebuilds that may be counted (exactly one is):
	// "damaged" when Bleve cannot load the index; "behind" when scorch
	// skips the damaged snapshot and loads an older one it kept (logging
	// "unable to load snapshot ... continuing"), consistent but too old for
	// the pruned outbox. Whether an older snapshot is still kept depends on
	// when scorch's persister and merger ran, so damage to a segment may
	// end either way.
	for _, tc := range []struct {
		name, reasons string
		damage        func(t *testing.T, dir string)
	}{
		{"truncated segment", "damaged behind", func(t *testing.T, dir string) {
			p := zap(t, dir)
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(p, fi.Size()/2); err != nil {
				t.Fatal(err)
			}
		}},
		{"segment body flipped", "damaged behind", func(t *testing.T, dir string) { flip(t, zap(t, dir), 0.25, 0.75, 0) }},
		// All but the footer: zap trusts the offsets it then reads and
		// indexes out of range, a panic that Open recovers.
		{"segment flipped but its footer", "damaged behind", func(t *testing.T, dir string) { flip(t, zap(t, dir), 0, 1, 200) }},
		{"segment missing", "damaged behind", func(t *testing.T, dir string) {
			if err := os.Remove(zap(t, dir)); err != nil {
				t.Fatal(err)
			}
		}},
		{"empty root.bolt", "damaged", func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, "store", "root.bolt"), nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"garbage index_meta.json", "damaged", func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, "index_meta.json"), []byte("{garbage"), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"index_meta.json missing", "damaged", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, "index_meta.json")); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tracks := catalogue()
			st := &memStore{tracks: tracks}
			st.add(changes(1, tracks...)...)
			dir := filepath.Join(t.TempDir(), "search.bleve")
			ix, err := OpenCurrent(ctx, dir, st, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := ix.Apply(ctx, st.entries); err != nil {
				t.Fatal(err)
			}
			if err := ix.Close(); err != nil {
				t.Fatal(err)
			}
			// An index moved aside by an earlier start: only one is kept.
			earlier := dir + damagedSuffix + "20200101T000000Z"
			if err := os.Mkdir(earlier, 0o700); err != nil {
				t.Fatal(err)
			}
			tc.damage(t, dir)
			// The outbox is pruned to its last entry: only an index at
			// head can catch up.
			st.entries = st.entries[len(st.entries)-1:]

			m := NewMetrics(prometheus.NewRegistry())
			before := map[string]float64{}
			for _, r := range []string{"damaged", "behind", "mapping"} {
				before[r] = testutil.ToFloat64(m.rebuilds.WithLabelValues(r))
			}
			ix, err = OpenCurrent(ctx, dir, st, m)
			if err != nil {
				t.Fatalf("OpenCurrent on a damaged index: %v", err)
			}
			defer ix.Close()
			counted := map[string]float64{}
			var n float64
			for r, b := range before {
				counted[r] = testutil.ToFloat64(m.rebuilds.WithLabelValues(r)) - b
				n += counted[r]
			}
			reason := ""
			for _, r := range strings.Fields(tc.reasons) {
				if counted[r] == 1 {
					reason = r
				}
			}
			if n != 1 || reason == "" {
				t.Errorf("rebuilds counted %v, want one for one of %q", counted, tc.reasons)
			}
			if n := mustCount(t, ix); n != uint64(len(tracks)) {
				t.Errorf("rebuilt index holds %d tracks, want %d", n, len(tracks))
			}
			if seq := mustSeq(t, ix); seq != int64(len(tracks)) {
				t.Errorf("rebuilt index at seq %d, want %d", seq, len(tracks))
			}
			if keys, _ := searchKeys(t, ix, Query{Text: "bjork"}); len(keys) != 1 || keys[0] != "joga" {
				t.Errorf("search bjork on the rebuilt index = %v, want [joga]", keys)
			}
			aside, err := filepath.Glob(dir + damagedSuffix + "*")
			if err != nil {
				t.Fatal(err)
			}
			if reason != "damaged" {
				if len(aside) != 1 || aside[0] != earlier {
					t.Errorf("moved-aside indexes %v, want only the earlier one", aside)
				}
				return
			}
			if len(aside) != 1 || aside[0] == earlier {
				t.Fatalf("moved-aside indexes %v, want just this start's", aside)
			}
			if _, err := os.Stat(filepath.Join(aside[0], "store")); err != nil {
				t.Errorf("the damaged index was not kept for inspection: %v", err)
			}
		})
	}
}
