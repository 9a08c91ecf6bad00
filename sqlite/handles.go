package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"
)

// UnresolvedActor is an account with tracks whose handle is not known yet.
type UnresolvedActor struct {
	DID syntax.DID
	// Attempts is the number of failed lookups so far.
	Attempts int
}

// UnresolvedActors returns up to limit accounts with tracks whose handle is
// not known and whose next lookup is due at now, the longest waiting first.
func (s *Store) UnresolvedActors(ctx context.Context, now time.Time, limit int) ([]UnresolvedActor, error) {
	rows, err := s.r.QueryContext(ctx, `
SELECT did, handle_attempts FROM actors
WHERE handle = '' AND handle_next_at <= ? ORDER BY handle_next_at LIMIT ?`, now.UnixMicro(), limit)
	if err != nil {
		return nil, fmt.Errorf("listing accounts without handles: %w", err)
	}
	defer rows.Close()
	var out []UnresolvedActor
	for rows.Next() {
		var (
			a   UnresolvedActor
			did string
		)
		if err := rows.Scan(&did, &a.Attempts); err != nil {
			return nil, fmt.Errorf("reading account without handle: %w", err)
		}
		a.DID = syntax.DID(did) // written only from parsed values
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing accounts without handles: %w", err)
	}
	return out, nil
}

// SetResolvedHandle stores a handle found by lookup, unless an identity event
// stored one meanwhile (the newer word).
func (s *Store) SetResolvedHandle(ctx context.Context, did syntax.DID, handle syntax.Handle) error {
	if _, err := s.w.ExecContext(ctx, `
UPDATE actors SET handle = ?, handle_attempts = 0, handle_next_at = 0, updated_at = ?
WHERE did = ? AND handle = ''`, handle.String(), time.Now().UnixMicro(), did.String()); err != nil {
		return fmt.Errorf("saving resolved handle of %s: %w", did, err)
	}
	return nil
}

// HandleLookupFailed counts a failed lookup and sets when to try again.
func (s *Store) HandleLookupFailed(ctx context.Context, did syntax.DID, next time.Time) error {
	if _, err := s.w.ExecContext(ctx, `
UPDATE actors SET handle_attempts = handle_attempts + 1, handle_next_at = ?
WHERE did = ? AND handle = ''`, next.UnixMicro(), did.String()); err != nil {
		return fmt.Errorf("saving failed handle lookup of %s: %w", did, err)
	}
	return nil
}
