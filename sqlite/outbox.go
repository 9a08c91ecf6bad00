package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"iter"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
)

// Changes returns up to limit outbox entries after seq, in order, each with
// the track's current state when it is visible (search.Source). Only what
// search indexes is read: the Track carries its key (did, collection, rkey), title,
// artist, album, genre, tags and sortAt, not the record.
func (s *Store) Changes(ctx context.Context, after int64, limit int) ([]relay.Change, error) {
	rows, err := s.r.QueryContext(ctx, `
SELECT o.seq, o.did, o.collection, o.rkey, `+visible+`, t.title, t.artist, t.album, t.genre, t.tags, t.sort_at
FROM outbox o
JOIN tracks t ON t.did = o.did AND t.collection = o.collection AND t.rkey = o.rkey
LEFT JOIN actors a ON a.did = o.did
WHERE o.seq > ? ORDER BY o.seq LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("reading outbox: %w", err)
	}
	defer rows.Close()
	var out []relay.Change
	for rows.Next() {
		// Track rows are never removed (a delete leaves a tombstone), so
		// every outbox entry joins one.
		var (
			c         relay.Change
			did, coll string
			rkey      string
			shown     bool
			t         relay.Track
			tags      string
			sortAt    int64
		)
		if err := rows.Scan(&c.Seq, &did, &coll, &rkey, &shown, &t.Title, &t.Artist, &t.Album, &t.Genre, &tags, &sortAt); err != nil {
			return nil, fmt.Errorf("reading outbox row: %w", err)
		}
		// Stored values were parsed before they were written.
		t.DID, t.Collection, t.RKey = syntax.DID(did), syntax.NSID(coll), syntax.RecordKey(rkey)
		c.URI = t.URI()
		if shown {
			if err := json.Unmarshal([]byte(tags), &t.Tags); err != nil {
				return nil, fmt.Errorf("stored track %s has bad tags: %w", c.URI, err)
			}
			t.SortAt = microTime(sortAt)
			c.Track = &t
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading outbox: %w", err)
	}
	return out, nil
}

// OutboxSeq returns the highest outbox sequence ever written, pruned or not
// (AUTOINCREMENT keeps it in sqlite_sequence and never reuses a number).
func (s *Store) OutboxSeq(ctx context.Context) (int64, error) {
	var seq int64
	err := s.r.QueryRowContext(ctx, `SELECT seq FROM sqlite_sequence WHERE name = 'outbox'`).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading outbox head: %w", err)
	}
	return seq, nil
}

// OutboxFloor returns the lowest sequence still in the outbox (0 when empty).
// An index that applied less than floor-1 has missed pruned entries and must
// be rebuilt.
func (s *Store) OutboxFloor(ctx context.Context) (int64, error) {
	var seq sql.NullInt64
	if err := s.r.QueryRowContext(ctx, `SELECT MIN(seq) FROM outbox`).Scan(&seq); err != nil {
		return 0, fmt.Errorf("reading outbox floor: %w", err)
	}
	return seq.Int64, nil
}

// PruneOutbox deletes outbox entries up to and including seq, once the search
// index has applied them.
func (s *Store) PruneOutbox(ctx context.Context, seq int64) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM outbox WHERE seq <= ?`, seq); err != nil {
		return fmt.Errorf("pruning outbox: %w", err)
	}
	return nil
}

// VisibleTracks iterates over every visible track (for a search rebuild).
func (s *Store) VisibleTracks(ctx context.Context) iter.Seq2[*relay.Track, error] {
	return func(yield func(*relay.Track, error) bool) {
		rows, err := s.r.QueryContext(ctx, `SELECT `+trackColumns+`
FROM tracks t LEFT JOIN actors a ON a.did = t.did WHERE `+visible)
		if err != nil {
			yield(nil, fmt.Errorf("listing tracks: %w", err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			t, err := scanTrack(rows)
			if err != nil {
				yield(nil, fmt.Errorf("reading track row: %w", err))
				return
			}
			if !yield(&t.Track, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(nil, fmt.Errorf("listing tracks: %w", err))
		}
	}
}
