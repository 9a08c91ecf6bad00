package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/relaymusic/relay/search"
	"github.com/relaymusic/relay/sqlite"
)

// openIndex opens the search index and makes sure the outbox can still bring
// it up to date: an index that is missing pruned entries (new, lost, or older
// than the outbox floor) or that is ahead of the store (the database was
// replaced) is rebuilt from SQLite first.
func openIndex(ctx context.Context, store *sqlite.Store, dir string, log *slog.Logger) (*search.Index, error) {
	idx, err := search.Open(dir)
	if errors.Is(err, search.ErrMappingChanged) {
		// This build analyses text differently: the index must be rebuilt
		// under the new rules before it can answer.
		log.Warn("search index was built with other analysis rules; rebuilding it from SQLite", "err", err)
		if err := rebuild(ctx, store, dir, log); err != nil {
			return nil, err
		}
		idx, err = search.Open(dir)
	}
	if err != nil {
		return nil, fmt.Errorf("opening search index: %w", err)
	}
	applied, err := idx.AppliedSeq()
	if err != nil {
		idx.Close()
		return nil, err
	}
	floor, err := store.OutboxFloor(ctx)
	if err != nil {
		idx.Close()
		return nil, err
	}
	head, err := store.OutboxSeq(ctx)
	if err != nil {
		idx.Close()
		return nil, err
	}
	// An empty outbox (floor 0) means everything up to head was applied
	// and pruned: only an index at head is current.
	current := applied == head || (floor > 0 && applied >= floor-1 && applied <= head)
	if current {
		return idx, nil
	}
	log.Warn("search index cannot catch up from the outbox; rebuilding it from SQLite", "applied_seq", applied, "outbox_floor", floor, "outbox_head", head)
	if err := idx.Close(); err != nil {
		return nil, fmt.Errorf("closing search index: %w", err)
	}
	if err := rebuild(ctx, store, dir, log); err != nil {
		return nil, err
	}
	return search.Open(dir)
}

// rebuild builds the index at dir from every visible track in the store.
func rebuild(ctx context.Context, store *sqlite.Store, dir string, log *slog.Logger) error {
	start := time.Now()
	// Read the outbox head first: changes made while tracks are listed
	// replay on top of the rebuilt index.
	seq, err := store.OutboxSeq(ctx)
	if err != nil {
		return err
	}
	if err := search.Rebuild(ctx, dir, seq, store.VisibleTracks(ctx)); err != nil {
		return fmt.Errorf("rebuilding search index: %w", err)
	}
	log.Info("search index rebuilt", "seq", seq, "took", time.Since(start).Round(time.Millisecond))
	return nil
}
