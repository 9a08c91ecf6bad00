package search_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/relaymusic/relay"
	"github.com/relaymusic/relay/bench/corpus"
	"github.com/relaymusic/relay/search"
)

// corpusTracks is the catalogue size of BenchmarkSearchCorpus:
// RELAY_SEARCH_BENCH_TRACKS, else benchTracks. The typo pass's cost grows
// with the term dictionaries, which 20k tracks keep small; 200k or more
// shows it (the index is built once per size and mapping and kept in the
// temp dir, so later runs start at once).
func corpusTracks(b *testing.B) int {
	s := os.Getenv("RELAY_SEARCH_BENCH_TRACKS")
	if s == "" {
		return benchTracks
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		b.Fatalf("RELAY_SEARCH_BENCH_TRACKS=%q: want a positive number", s)
	}
	return n
}

// corpusIndex opens the cached index of n bench-corpus tracks (seed 1),
// building it first, as `relay reindex` does, if it is not there.
func corpusIndex(b *testing.B, n int) *search.Index {
	b.Helper()
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("relay-search-bench-%s-%d", search.MappingVersion, n))
	if _, err := os.Stat(dir); err != nil {
		g := corpus.New(corpus.Spec{Seed: 1, Tracks: n})
		tracks := func(yield func(*relay.Track, error) bool) {
			for t := g.Next(); t != nil; t = g.Next() {
				if !yield(t, nil) {
					return
				}
			}
		}
		if err := search.Rebuild(context.Background(), dir, 1, tracks, nil); err != nil {
			b.Fatalf("Rebuild: %v", err)
		}
	}
	ix, err := search.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = ix.Close() })
	return ix
}

// cpuTime is the process's user and system CPU time so far: on a shared
// machine it moves far less with other processes' load than wall time.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSearchCorpus runs 100 bench-corpus queries of each kind, first
// pages of 50 by relevance, over RELAY_SEARCH_BENCH_TRACKS tracks (default
// 20k), and reports the median and 99th percentile of one search, the
// CPU time of one (all goroutines, GC included), and recall@10: the share of queries whose target track is
// in the first 10 hits. Each kind runs again with the pairs clauses off
// ("nopairs"), on the same index: what proximity costs a query.
//
//	RELAY_SEARCH_BENCH_TRACKS=200000 go test -run '^$' -bench SearchCorpus ./search/
func BenchmarkSearchCorpus(b *testing.B) {
	n := corpusTracks(b)
	ix := corpusIndex(b, n)
	qs := corpus.Queries(corpus.Spec{Seed: 1, Tracks: n}, 7, 100)
	for _, kind := range corpus.Kinds {
		var kqs []corpus.Query
		for _, q := range qs {
			if q.Kind == kind {
				kqs = append(kqs, q)
			}
		}
		for _, pairs := range []bool{true, false} {
			name := fmt.Sprintf("%s/%d", kind, n)
			if !pairs {
				name += "/nopairs"
			}
			b.Run(name, func(b *testing.B) {
				defer search.SetPairsBonus(search.SetPairsBonus(pairs))
				benchQueries(b, ix, kqs)
			})
		}
	}
}

// benchQueries searches kqs round robin and reports the median and 99th
// percentile of one search, its CPU time, and recall@10.
func benchQueries(b *testing.B, ix *search.Index, kqs []corpus.Query) {
	ctx := context.Background()
	{
		{
			found := 0
			for _, q := range kqs {
				res, err := ix.Search(ctx, search.Query{Text: q.Text, Limit: 50})
				if err != nil {
					b.Fatal(err)
				}
				if slices.Contains(res.URIs[:min(10, len(res.URIs))], q.Target.String()) {
					found++
				}
			}
			took := make([]time.Duration, 0, b.N)
			cpu0 := cpuTime(b)
			b.ResetTimer()
			for i := range b.N {
				start := time.Now()
				if _, err := ix.Search(ctx, search.Query{Text: kqs[i%len(kqs)].Text, Limit: 50}); err != nil {
					b.Fatal(err)
				}
				took = append(took, time.Since(start))
			}
			b.StopTimer()
			b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/1000/float64(b.N), "cpu_ms/op")
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50_ms")
			b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "p99_ms")
			b.ReportMetric(100*float64(found)/float64(len(kqs)), "recall@10_%")
		}
	}
}
