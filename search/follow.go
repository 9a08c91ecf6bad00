package search

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/relaymusic/relay"
)

// Source is what the store offers the index (the SQLite store implements it).
type Source interface {
	// Changes returns up to limit outbox entries with seq > after, in seq
	// order, each with the track's current visible state (nil Track = not
	// visible).
	Changes(ctx context.Context, after int64, limit int) ([]relay.Change, error)
}

// catchUpBatch is how many outbox entries go into one Bleve batch.
const catchUpBatch = 1000

// CatchUp applies everything src has after AppliedSeq, in batches of up to
// 1000, until it has nothing more; it returns the number applied.
func (ix *Index) CatchUp(ctx context.Context, src Source) (int, error) {
	total := 0
	for {
		after, err := ix.AppliedSeq()
		if err != nil {
			return total, err
		}
		changes, err := src.Changes(ctx, after, catchUpBatch)
		if err != nil {
			return total, fmt.Errorf("search: read outbox after %d: %w", after, err)
		}
		if len(changes) == 0 {
			return total, nil
		}
		if err := ix.Apply(ctx, changes); err != nil {
			return total, err
		}
		now, err := ix.AppliedSeq()
		if err != nil {
			return total, err
		}
		// A source that returns only old entries would loop forever.
		if now <= after {
			return total, fmt.Errorf("search: outbox after %d returned no newer entry", after)
		}
		for _, c := range changes {
			if c.Seq > after {
				total++
			}
		}
	}
}

// Follow calls CatchUp, then again every interval until ctx ends, since
// another process may write the outbox. Errors are logged and retried at
// the next tick, never fatal. It returns ctx.Err().
func (ix *Index) Follow(ctx context.Context, src Source, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		n, err := ix.CatchUp(ctx, src)
		switch {
		case err != nil && ctx.Err() == nil:
			slog.ErrorContext(ctx, "search index catch-up failed; retrying", "err", err, "applied", n, "retry_in", interval)
		case n > 0:
			slog.DebugContext(ctx, "search index caught up", "applied", n)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
