package corpus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/relaymusic/relay"
	"github.com/relaymusic/relay/datadir"
)

// BatchSize is how many TrackPut events go into one ApplyBatch.
const BatchSize = 5000

// Built is a catalogue loaded into a relay data dir.
type Built struct {
	Spec Spec
	// DataDir holds relay.db and search.bleve, as `relay serve --data-dir`
	// expects them. Treat it as read-only: copy it before serving it.
	DataDir string
	// Cached is true when the build was found in the cache.
	Cached bool
	Stats  BuildStats
}

// BuildStats are the timings of the build that produced the cache entry.
type BuildStats struct {
	Generate time.Duration `json:"generate"` // generating tracks alone, in a separate pass
	SQLite   time.Duration `json:"sqlite"`   // generating and applying every batch
	Bleve    time.Duration `json:"bleve"`    // the index rebuilt from the store (relay reindex)
	Machine  string        `json:"machine"`
}

// Build loads spec into cacheDir/<spec.Key()>/data, unless a complete build
// is already there.
func Build(ctx context.Context, cacheDir string, spec Spec, log *slog.Logger) (*Built, error) {
	root := filepath.Join(cacheDir, spec.Key())
	b := &Built{Spec: spec, DataDir: filepath.Join(root, "data")}
	done := filepath.Join(root, "complete.json")
	if raw, err := os.ReadFile(done); err == nil {
		if err := json.Unmarshal(raw, &b.Stats); err != nil {
			return nil, fmt.Errorf("corpus: reading %s: %w", done, err)
		}
		b.Cached = true
		return b, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	if err := os.RemoveAll(root); err != nil {
		return nil, fmt.Errorf("corpus: clearing %s: %w", root, err)
	}
	if err := os.MkdirAll(b.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}

	// Generation alone, so the load rate can be read against it.
	start := time.Now()
	g := New(spec)
	for g.Next() != nil {
	}
	b.Stats.Generate = time.Since(start)

	dd, err := datadir.Open(ctx, b.DataDir)
	if err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	defer dd.Close()
	store := dd.Store
	start = time.Now()
	g = New(spec)
	events := make([]relay.Event, 0, BatchSize)
	n := 0
	flush := func() error {
		if len(events) == 0 {
			return nil
		}
		if _, err := store.ApplyBatch(ctx, events, 0); err != nil {
			return fmt.Errorf("corpus: applying batch at track %d: %w", n, err)
		}
		events = events[:0]
		return nil
	}
	for t := g.Next(); t != nil; t = g.Next() {
		events = append(events, relay.Event{Kind: relay.TrackPut, DID: t.DID, Track: t})
		n++
		if len(events) == BatchSize {
			if err := flush(); err != nil {
				return nil, err
			}
			if n%100_000 == 0 {
				log.Info("corpus: tracks into SQLite", "done", n, "of", spec.Tracks, "elapsed", time.Since(start).Round(time.Second))
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	b.Stats.SQLite = time.Since(start)

	start = time.Now()
	log.Info("corpus: building the search index", "tracks", n)
	// What `relay reindex` does, so the figure is that command's.
	if err := dd.Reindex(ctx); err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	b.Stats.Bleve = time.Since(start)
	// A running relay prunes the outbox once the index has applied it: the
	// cached store is in that steady state. Nothing wrote since the rebuild
	// read the head, so the head is what the index holds.
	seq, err := store.OutboxSeq(ctx)
	if err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	if err := store.PruneOutbox(ctx, seq); err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	if err := dd.Close(); err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	raw, err := json.Marshal(b.Stats)
	if err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	if err := os.WriteFile(done, raw, 0o644); err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	log.Info("corpus built", "tracks", n, "sqlite", b.Stats.SQLite.Round(time.Second), "bleve", b.Stats.Bleve.Round(time.Second))
	return b, nil
}
