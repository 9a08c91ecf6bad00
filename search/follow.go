package search

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/relaymusic/relay"
)

// Source is what the store offers the index: its outbox, read in order.
//
// The follower relies on two properties of sequence numbers, and a backend
// must guarantee both (storetest checks them under concurrent writers):
//   - commit-ordered: a seq becomes visible to Changes only once every
//     lower seq is, however many writers commit at once; the follower asks
//     for "after the last seq I applied" and would step over an entry that
//     committed later with a lower number;
//   - gap-free: each commit's entries take the next numbers after the last
//     commit's, so an index that applied seq n and sees the outbox floor at
//     n+1 has missed nothing (OpenCurrent's "applied >= floor-1", for
//     AppliedSeq and ArtistSeq).
//
// Every change to what search shows (a track's searchable fields, or
// whether it is visible) gets an entry in the same transaction as the
// change; an event that changes nothing gets none.
//
// An artist is searched by its handle and the names its tracks credit, so
// a change of handle gets an entry too (one naming any live track of the
// account will do): the index rebuilds the artist document of every
// account its entries name, reading it through ArtistSource, at once when
// caught up and at most artistInterval later while catching up.
type Source interface {
	ArtistSource
	// Changes returns up to limit outbox entries with seq > after, in seq
	// order, each with the track's current searchable state (id, title,
	// artist, album, genre, tags, sortAt); a nil Track means not visible.
	Changes(ctx context.Context, after int64, limit int) ([]relay.Change, error)
}

// catchUpBatch is how many outbox entries go into one Bleve batch: fewer,
// larger segments while catching up (a 100k replay: 4000 was 27% faster
// than 1000 for 60 MB more peak RSS; 10000 was slower again).
const catchUpBatch = 4000

// CatchUp applies everything src has after AppliedSeq, in batches of up to
// catchUpBatch, until it has nothing more; it returns the number applied.
//
// Track documents are current with every batch. Artist documents are
// rebuilt with the batch that finds the outbox drained (fewer than
// catchUpBatch entries), or in a batch of their own when the outbox had
// nothing more, so they are current whenever CatchUp returns nil; while a
// backlog is applied they are rebuilt only every artistInterval (or
// maxPendingArtists accounts), and lag track documents by at most that.
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
			return total, ix.flushArtists(ctx, src)
		}
		if err := ix.apply(ctx, changes, src, len(changes) < catchUpBatch); err != nil {
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

// Outbox is the store's outbox as the follower sees it: the changes, its
// head, and pruning what the index has applied.
type Outbox interface {
	Source
	// OutboxSeq is the highest sequence ever written, pruned or not; a
	// number is never reused.
	OutboxSeq(ctx context.Context) (int64, error)
	// PruneOutbox drops entries up to and including seq, and nothing else.
	// The follower passes PrunableSeq, never more.
	PruneOutbox(ctx context.Context, seq int64) error
}

// Follow keeps the index applying the outbox until ctx ends: at once when
// wake fires (this process committed something), and every interval for
// what other processes (relay backfill) write. Entries are pruned from the
// outbox up to PrunableSeq: those after ArtistSeq stay, since a restart
// reads them again for the artists it has not rebuilt. Errors are logged
// and retried at the next tick, never fatal. It returns ctx.Err().
func (ix *Index) Follow(ctx context.Context, src Outbox, interval time.Duration, wake <-chan struct{}) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	var pruned int64
	for {
		n, err := ix.CatchUp(ctx, src)
		switch {
		case err != nil && ctx.Err() == nil:
			slog.ErrorContext(ctx, "search index catch-up failed; retrying", "err", err, "applied", n, "retry_in", interval)
		case n > 0:
			slog.DebugContext(ctx, "search index caught up", "applied", n)
		}
		if applied, err := ix.AppliedSeq(); err == nil {
			if head, err := src.OutboxSeq(ctx); err == nil {
				ix.metrics.lag.Set(float64(max(head-applied, 0)))
			}
		}
		// The prunable seq can move without a track change applied: a
		// CatchUp that only rebuilt the deferred artists.
		if p, err := ix.PrunableSeq(); err == nil && p > pruned {
			if err := src.PruneOutbox(ctx, p); err != nil {
				if ctx.Err() == nil {
					slog.WarnContext(ctx, "pruning the outbox failed", "err", err)
				}
			} else {
				pruned = p
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wake:
		case <-t.C:
		}
	}
}
