package sqlite

import (
	"context"
	"database/sql"
	"errors"
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
	if err := s.setHandle(ctx, a.DID, `
UPDATE actors SET handle = ?, handle_recheck = 0, handle_attempts = 0, handle_next_at = 0, updated_at = ?
WHERE `+stillAsked, handle.String(), time.Now().UnixMicro(), a.DID.String(), a.Recheck); err != nil {
		return fmt.Errorf("saving resolved handle of %s: %w", a.DID, err)
	}
	return nil
}

// setHandle runs update, a change of did's handle, and when it changed the
// handle appends the account to the outbox in the same transaction: search
// finds artists by handle, so its artist document must follow.
func (s *Store) setHandle(ctx context.Context, did syntax.DID, update string, args ...any) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning handle transaction: %w", err)
	}
	defer tx.Rollback()
	var before string
	if err := tx.QueryRowContext(ctx, `SELECT handle FROM actors WHERE did = ?`, did.String()).Scan(&before); errors.Is(err, sql.ErrNoRows) {
		return nil
	} else if err != nil {
		return fmt.Errorf("reading handle: %w", err)
	}
	if _, err := tx.ExecContext(ctx, update, args...); err != nil {
		return err
	}
	var after string
	if err := tx.QueryRowContext(ctx, `SELECT handle FROM actors WHERE did = ?`, did.String()).Scan(&after); err != nil {
		return fmt.Errorf("reading handle: %w", err)
	}
	if after != before {
		if _, err := tx.ExecContext(ctx, touchArtist, did.String()); err != nil {
			return fmt.Errorf("appending to outbox: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing handle: %w", err)
	}
	return nil
}

// HandleUnverified records a lookup that answered without a verified handle:
// the handle shown so far (a recheck's) is cleared, since the DID document no
// longer backs it, and the lookup is retried at next.
func (s *Store) HandleUnverified(ctx context.Context, a relay.UnresolvedActor, next time.Time) error {
	if err := s.setHandle(ctx, a.DID, `
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
