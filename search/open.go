package search

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"time"

	"github.com/relaymusic/relay"
)

// Store is what the index needs of the store to open up to date or to be
// rebuilt: the outbox, and every visible track.
type Store interface {
	Outbox
	// OutboxFloor is the lowest sequence still in the outbox (0: empty).
	OutboxFloor(ctx context.Context) (int64, error)
	VisibleTracks(ctx context.Context) iter.Seq2[*relay.Track, error]
}

// OpenCurrent opens the index at dir so that following st's outbox brings it
// up to date, rebuilding it from st first when that cannot work: an index
// built under other analysis rules, one missing entries already pruned from
// the outbox (new, lost, or left behind), or one ahead of the store (the
// database was replaced).
func OpenCurrent(ctx context.Context, dir string, st Store) (*Index, error) {
	ix, err := Open(dir)
	if errors.Is(err, ErrMappingChanged) {
		slog.WarnContext(ctx, "search index was built with other analysis rules; rebuilding it from SQLite", "err", err)
		if err := RebuildFrom(ctx, dir, st); err != nil {
			return nil, err
		}
		ix, err = Open(dir)
	}
	if err != nil {
		return nil, err
	}
	applied, err := ix.AppliedSeq()
	var floor, head int64
	if err == nil {
		floor, err = st.OutboxFloor(ctx)
	}
	if err == nil {
		head, err = st.OutboxSeq(ctx)
	}
	if err != nil {
		_ = ix.Close()
		return nil, fmt.Errorf("search: checking the index against the outbox: %w", err)
	}
	if canCatchUp(applied, floor, head) {
		return ix, nil
	}
	slog.WarnContext(ctx, "search index cannot catch up from the outbox; rebuilding it from SQLite",
		"applied_seq", applied, "outbox_floor", floor, "outbox_head", head)
	if err := ix.Close(); err != nil {
		return nil, fmt.Errorf("search: closing index: %w", err)
	}
	if err := RebuildFrom(ctx, dir, st); err != nil {
		return nil, err
	}
	return Open(dir)
}

// canCatchUp reports whether an index at applied reaches head by replaying
// the outbox entries floor..head. Pure.
func canCatchUp(applied, floor, head int64) bool {
	if applied == head {
		return true
	}
	// An empty outbox (floor 0) below head means everything was applied
	// and pruned: only an index at head is current.
	return floor > 0 && applied >= floor-1 && applied <= head
}

// RebuildFrom builds the index at dir from every visible track of st (the
// index must not be open).
func RebuildFrom(ctx context.Context, dir string, st Store) error {
	start := time.Now()
	// The outbox head is read first: changes made while tracks are listed
	// replay on top of the rebuilt index.
	seq, err := st.OutboxSeq(ctx)
	if err != nil {
		return fmt.Errorf("search: rebuild: %w", err)
	}
	if err := Rebuild(ctx, dir, seq, st.VisibleTracks(ctx)); err != nil {
		return err
	}
	slog.InfoContext(ctx, "search index rebuilt", "seq", seq, "took", time.Since(start).Round(time.Millisecond))
	return nil
}
