package audiocheck

import (
	"context"

	"github.com/relaymusic/relay"
)

// Outbox is the store's outbox as the search index's follower uses it
// (search.Outbox).
type Outbox interface {
	Changes(ctx context.Context, after int64, limit int) ([]relay.Change, error)
	OutboxSeq(ctx context.Context) (int64, error)
	PruneOutbox(ctx context.Context, seq int64) error
}

// HoldOutbox wraps the search follower's outbox so that it never prunes
// what the checker has not read: the outbox is how a changed audioUrl
// reaches the checker, and the index prunes as soon as it has applied.
func (c *Checker) HoldOutbox(o Outbox) Outbox { return held{o, c.cfg.Store} }

type held struct {
	Outbox
	store Store
}

func (h held) PruneOutbox(ctx context.Context, seq int64) error {
	cur, err := h.store.AudioOutboxCursor(ctx)
	if err != nil {
		return err
	}
	// Before the checker's first sync (-1) the rowid sweep covers every
	// track there is, so nothing needs holding.
	if cur >= 0 {
		seq = min(seq, cur)
	}
	return h.Outbox.PruneOutbox(ctx, seq)
}
