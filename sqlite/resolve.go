package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/bluesky-social/indigo/atproto/syntax"
)

// ResolveHandle returns the DID of the account whose handle, as the store
// last learned it, is h (handles are ASCII and compared ignoring case). ok
// is false when no account has it. Two accounts may briefly hold one
// handle (one moved, the other's event not seen yet): the active one most
// recently updated wins. It is one probe of the actors_handle index, and
// unlike ArtistByHandle counts nothing: searchTracks runs it per request.
func (s *Store) ResolveHandle(ctx context.Context, h syntax.Handle) (syntax.DID, bool, error) {
	if h.IsInvalidHandle() {
		return "", false, nil
	}
	var did string
	err := s.r.QueryRowContext(ctx, `SELECT did FROM actors WHERE lower(handle) = ? AND handle != ''
ORDER BY active DESC, updated_at DESC, did LIMIT 1`, h.Normalize().String()).Scan(&did)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("resolving handle %s: %w", h, err)
	}
	d, err := syntax.ParseDID(did)
	if err != nil {
		return "", false, fmt.Errorf("resolving handle %s: stored did %q: %w", h, did, err)
	}
	return d, true, nil
}
