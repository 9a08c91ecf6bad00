package audiocheck

import (
	"context"
	"fmt"
)

// Prunable is how far the search follower may prune the outbox when it has
// applied up to seq: no further than the checker has read. The outbox is
// how a changed audioUrl reaches the checker, and the index prunes as soon
// as it has applied. cmd wraps the store's PruneOutbox with it.
func (c *Checker) Prunable(ctx context.Context, seq int64) (int64, error) {
	cur, err := c.cfg.Store.AudioOutboxCursor(ctx)
	if err != nil {
		return 0, fmt.Errorf("audiocheck: reading the outbox cursor: %w", err)
	}
	// Before the checker's first sync (-1) its sweep covers every track
	// there is, so nothing needs holding.
	if cur >= 0 {
		seq = min(seq, cur)
	}
	return seq, nil
}
