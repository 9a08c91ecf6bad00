package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
)

// unresolvedQuery walks actors_handle_due, whose WHERE it repeats so that
// SQLite can use that partial index.
const unresolvedQuery = `
SELECT did, handle_attempts, handle_recheck FROM actors
WHERE (handle = '' OR handle_recheck != 0) AND handle_next_at <= ? ORDER BY handle_next_at LIMIT ?`

// UnresolvedActors returns up to limit accounts with tracks whose handle is
// not known or is to be rechecked, and whose next lookup is due at now, the
// longest waiting first.
func (s *Store) UnresolvedActors(ctx context.Context, now time.Time, limit int) ([]relay.UnresolvedActor, error) {
	rows, err := s.r.QueryContext(ctx, unresolvedQuery, now.UnixMicro(), limit)
	if err != nil {
		return nil, fmt.Errorf("listing accounts without handles: %w", err)
	}
	defer rows.Close()
	var out []relay.UnresolvedActor
	for rows.Next() {
		var (
			a   relay.UnresolvedActor
			did string
		)
		if err := rows.Scan(&did, &a.Attempts, &a.Recheck); err != nil {
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

// stillAsked matches the row only while it is in the state a was listed in:
// no identity event since (one with a handle stores it and clears the
// recheck; one without sets a newer recheck).
const stillAsked = `did = ? AND handle_recheck = ? AND (handle = '' OR handle_recheck != 0)`

// SetResolvedHandle stores a handle found by the lookup of a, unless an
// identity event came meanwhile (the newer word).
func (s *Store) SetResolvedHandle(ctx context.Context, a relay.UnresolvedActor, handle syntax.Handle) error {
	if _, err := s.w.ExecContext(ctx, `
UPDATE actors SET handle = ?, handle_recheck = 0, handle_attempts = 0, handle_next_at = 0, updated_at = ?
WHERE `+stillAsked, handle.String(), time.Now().UnixMicro(), a.DID.String(), a.Recheck); err != nil {
		return fmt.Errorf("saving resolved handle of %s: %w", a.DID, err)
	}
	return nil
}

// HandleUnverified records a lookup that answered without a verified handle:
// the handle shown so far (a recheck's) is cleared, since the DID document no
// longer backs it, and the lookup is retried at next.
func (s *Store) HandleUnverified(ctx context.Context, a relay.UnresolvedActor, next time.Time) error {
	if _, err := s.w.ExecContext(ctx, `
UPDATE actors SET handle = '', handle_recheck = 0, handle_attempts = handle_attempts + 1, handle_next_at = ?, updated_at = ?
WHERE `+stillAsked, next.UnixMicro(), time.Now().UnixMicro(), a.DID.String(), a.Recheck); err != nil {
		return fmt.Errorf("saving unverified handle of %s: %w", a.DID, err)
	}
	return nil
}

// HandleLookupFailed counts a lookup that got no answer (the directory or
// the handle's host failed) and sets when to try again; a recheck keeps
// showing the old handle meanwhile.
func (s *Store) HandleLookupFailed(ctx context.Context, a relay.UnresolvedActor, next time.Time) error {
	if _, err := s.w.ExecContext(ctx, `
UPDATE actors SET handle_attempts = handle_attempts + 1, handle_next_at = ?
WHERE `+stillAsked, next.UnixMicro(), a.DID.String(), a.Recheck); err != nil {
		return fmt.Errorf("saving failed handle lookup of %s: %w", a.DID, err)
	}
	return nil
}
