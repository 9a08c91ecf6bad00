package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
)

// ArtistFeed returns up to limit of the artist's visible tracks, newest
// first in the feed's order, strictly after the key (nil: from the top);
// album, when not empty, keeps only the tracks of that album. Keyset
// paging, as Feed.
func (s *Store) ArtistFeed(ctx context.Context, did syntax.DID, album string, after *relay.FeedKey, limit int) ([]*relay.StoredTrack, error) {
	cond, args := ` AND t.did = ?`, []any{did.String()}
	if album != "" {
		cond += ` AND t.album = ?`
		args = append(args, album)
	}
	rows, err := s.feedPage(ctx, cond, args, after, limit)
	if err != nil {
		return nil, fmt.Errorf("querying artist feed of %s: %w", did, err)
	}
	return rows, nil
}

// artistChunk bounds the DIDs of one IN list (SQLite's bound on variables
// is far above; a page hydrates at most 100 tracks of 11 artists each).
const artistChunk = 500

// Artists returns the artists among dids (those with visible tracks), with
// their handles and visible track counts, in no particular order; the
// others are left out. One query per 500 DIDs, so hydrating a page costs
// one query, not one per track.
func (s *Store) Artists(ctx context.Context, dids []syntax.DID) ([]relay.Artist, error) {
	var out []relay.Artist
	for len(dids) > 0 {
		n := min(len(dids), artistChunk)
		chunk := dids[:n]
		dids = dids[n:]
		args := make([]any, len(chunk))
		for i, d := range chunk {
			args[i] = d.String()
		}
		// track_count is kept by triggers (schema.sql): a row per artist,
		// not a count of its tracks.
		rows, err := s.queryKeys(ctx, len(chunk), `SELECT a.did, a.handle, a.track_count FROM actors a
WHERE a.did IN (?`+strings.Repeat(", ?", len(chunk)-1)+`) AND a.active = 1 AND a.track_count > 0`, args...)
		if err != nil {
			return nil, fmt.Errorf("querying artists: %w", err)
		}
		for rows.Next() {
			var a relay.Artist
			var did string
			if err := rows.Scan(&did, &a.Handle, &a.TrackCount); err != nil {
				rows.Close()
				return nil, fmt.Errorf("reading artist row: %w", err)
			}
			a.DID = syntax.DID(did)
			out = append(out, a)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("reading artists: %w", err)
		}
	}
	return out, nil
}

// ArtistByHandle returns the artist whose stored handle is handle (case
// aside), nil when no account with visible tracks has it. Two accounts can
// hold one handle for a while (one of them stale until its identity event):
// the one updated last wins.
func (s *Store) ArtistByHandle(ctx context.Context, handle syntax.Handle) (*relay.Artist, error) {
	var a relay.Artist
	var did string
	err := s.r.QueryRowContext(ctx, `SELECT a.did, a.handle, a.track_count
FROM actors a
WHERE lower(a.handle) = ? AND a.handle != '' AND a.active = 1 AND a.track_count > 0
ORDER BY a.updated_at DESC, a.did LIMIT 1`, strings.ToLower(handle.String())).Scan(&did, &a.Handle, &a.TrackCount)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("looking up artist %s: %w", handle, err)
	}
	a.DID = syntax.DID(did)
	return &a, nil
}

// Albums returns up to limit albums of the artist (named by its visible
// tracks), the most recent first: each with its visible track count and
// the artwork of its newest track that has one.
func (s *Store) Albums(ctx context.Context, did syntax.DID, limit int) ([]relay.Album, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT t.album, COUNT(*),
	COALESCE((SELECT i.image_url FROM tracks i WHERE i.did = t.did AND i.album = t.album AND i.deleted = 0 AND i.image_url != ''
		ORDER BY i.sort_at DESC, i.collection DESC, i.rkey DESC LIMIT 1), '')
FROM tracks t LEFT JOIN actors a ON a.did = t.did
WHERE t.did = ? AND t.album != '' AND `+visible+`
GROUP BY t.album
ORDER BY MAX(t.sort_at) DESC, t.album
LIMIT ?`, did.String(), limit)
	if err != nil {
		return nil, fmt.Errorf("querying albums of %s: %w", did, err)
	}
	defer rows.Close()
	var out []relay.Album
	for rows.Next() {
		var al relay.Album
		if err := rows.Scan(&al.Name, &al.TrackCount, &al.ImageURL); err != nil {
			return nil, fmt.Errorf("reading album row: %w", err)
		}
		out = append(out, al)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading albums of %s: %w", did, err)
	}
	return out, nil
}
