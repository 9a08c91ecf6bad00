package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
)

// Feed returns up to limit visible tracks, newest first, strictly after the
// key (nil: from the top). Keyset paging: a track that arrives while a client
// pages sorts above its cursor, so pages never repeat or skip.
func (s *Store) Feed(ctx context.Context, after *relay.FeedKey, limit int) ([]*relay.StoredTrack, error) {
	rows, err := s.feedPage(ctx, "", nil, after, limit)
	if err != nil {
		return nil, fmt.Errorf("querying feed: %w", err)
	}
	return rows, nil
}

// feedPage reads one keyset page in the feed's order of the visible tracks
// that also match cond (an extra "AND ..." with its args; "" for none):
// strictly after the key, at most limit. Every list in feed order (the
// discovery feed, an artist's feed) pages through it, so they all order
// and break ties the same way.
func (s *Store) feedPage(ctx context.Context, cond string, args []any, after *relay.FeedKey, limit int) ([]*relay.StoredTrack, error) {
	q := `SELECT ` + trackColumns + ` FROM tracks t LEFT JOIN actors a ON a.did = t.did
WHERE ` + visible + cond
	args = append([]any{}, args...)
	if after != nil {
		q += ` AND (t.sort_at, t.did, t.collection, t.rkey) < (?, ?, ?, ?)`
		args = append(args, after.SortAt, after.DID.String(), after.Collection.String(), after.RKey.String())
	}
	q += ` ORDER BY t.sort_at DESC, t.did DESC, t.collection DESC, t.rkey DESC LIMIT ?`
	args = append(args, limit)
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*relay.StoredTrack
	for rows.Next() {
		t, err := scanTrack(rows)
		if err != nil {
			return nil, fmt.Errorf("reading row: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// Tracks returns the shown tracks among uris, in the order given; uris
// that are unknown (of a collection never stored included), deleted or
// hidden with their account are left out; a track whose audio is missing
// is not (its AudioStatus says so). A uri names the whole key: its collection picks the
// track.
func (s *Store) Tracks(ctx context.Context, uris []syntax.ATURI) ([]*relay.StoredTrack, error) {
	if len(uris) == 0 {
		return nil, nil
	}
	conn, err := s.r.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("getting a read connection: %w", err)
	}
	defer conn.Close()
	stmt, err := conn.PrepareContext(ctx, `SELECT `+trackColumns+` FROM tracks t LEFT JOIN actors a ON a.did = t.did
WHERE t.did = ? AND t.collection = ? AND t.rkey = ? AND `+shown)
	if err != nil {
		return nil, fmt.Errorf("preparing track lookup: %w", err)
	}
	defer stmt.Close()
	out := make([]*relay.StoredTrack, 0, len(uris))
	for _, u := range uris {
		did, err := u.Authority().AsDID()
		if err != nil {
			continue // not a DID-based uri: never stored
		}
		t, err := scanTrack(stmt.QueryRowContext(ctx, did.String(), u.Collection().String(), u.RecordKey().String()))
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading track %s: %w", u, err)
		}
		out = append(out, t)
	}
	return out, nil
}

// Counts are the numbers of tracks by state, and of accounts with tracks or
// tombstones (the only accounts with an actors row, so counting them costs
// what counting artists costs, not the network's 40M accounts).
type Counts struct {
	Visible, Hidden, Tombstoned, Actors int64
}

// Count counts tracks by state (for metrics and health).
func (s *Store) Count(ctx context.Context) (Counts, error) {
	var c Counts
	err := s.r.QueryRowContext(ctx, `
SELECT
	COALESCE(SUM(t.deleted = 0 AND COALESCE(a.active, 1) = 1), 0),
	COALESCE(SUM(t.deleted = 0 AND COALESCE(a.active, 1) = 0), 0),
	COALESCE(SUM(t.deleted = 1), 0),
	(SELECT COUNT(*) FROM actors)
FROM tracks t LEFT JOIN actors a ON a.did = t.did`).Scan(&c.Visible, &c.Hidden, &c.Tombstoned, &c.Actors)
	if err != nil {
		return c, fmt.Errorf("counting tracks: %w", err)
	}
	return c, nil
}
