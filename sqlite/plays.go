package sqlite

import (
	"context"
	"fmt"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
)

// AddPlays adds each count to its track's hour (count += n), all in one
// transaction: a flush of the plays counter is one write, however many
// tracks it carries. A count of a track never stored is kept like any
// other; trending joins on tracks, so it shows nowhere.
func (s *Store) AddPlays(ctx context.Context, counts []relay.PlayCount) error {
	if len(counts) == 0 {
		return nil
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning plays transaction: %w", err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO plays (did, collection, rkey, hour, count) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (did, collection, rkey, hour) DO UPDATE SET count = count + excluded.count`)
	if err != nil {
		return fmt.Errorf("preparing plays upsert: %w", err)
	}
	defer stmt.Close()
	for _, c := range counts {
		if c.Collection == "" {
			return fmt.Errorf("plays of %s/%s: no collection", c.DID, c.RKey)
		}
		if c.N <= 0 {
			continue
		}
		if _, err := stmt.ExecContext(ctx, c.DID.String(), c.Collection.String(), c.RKey.String(), c.Hour, c.N); err != nil {
			return fmt.Errorf("adding plays of %s: %w", relay.TrackURI(c.DID, c.Collection, c.RKey), err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing plays: %w", err)
	}
	return nil
}

// Trending returns up to limit visible tracks with plays in the hours
// [since, until), with their plays summed over those hours, ranked by
// plays descending, then feed key descending, strictly after the key given
// (nil: from the top). Hours that are over never change (the plays counter
// books late counts to the hour in progress), so over such a window the
// order is fixed and keyset pages never repeat or skip; a track deleted or
// hidden between pages is left out.
func (s *Store) Trending(ctx context.Context, since, until int64, after *relay.TrendingKey, limit int) ([]*relay.TrendingTrack, error) {
	// +hour keeps the planner off plays_hour: read through that index the
	// rows come out of track order and are grouped in a temporary B-tree,
	// 10 s of a loaded machine for 480k rows (1.2 s CPU) against 0.5 s
	// (0.1 s CPU) for the plain scan in primary key order, which groups as
	// it goes (BenchmarkTrending). The scan reads every hour held, so the
	// table should keep only the longest window's (not pruned yet).
	q := `WITH p AS (
	SELECT did, collection, rkey, SUM(count) AS plays FROM plays
	WHERE +hour >= ? AND +hour < ?
	GROUP BY did, collection, rkey
)
SELECT ` + trackColumns + `, p.plays FROM p
JOIN tracks t ON t.did = p.did AND t.collection = p.collection AND t.rkey = p.rkey
LEFT JOIN actors a ON a.did = t.did
WHERE ` + visible
	args := []any{since, until}
	if after != nil {
		q += ` AND (p.plays, t.sort_at, t.did, t.collection, t.rkey) < (?, ?, ?, ?, ?)`
		k := after.Feed
		args = append(args, after.Plays, k.SortAt, k.DID.String(), k.Collection.String(), k.RKey.String())
	}
	q += ` ORDER BY p.plays DESC, t.sort_at DESC, t.did DESC, t.collection DESC, t.rkey DESC LIMIT ?`
	args = append(args, limit)
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("querying trending: %w", err)
	}
	defer rows.Close()
	var out []*relay.TrendingTrack
	for rows.Next() {
		var plays int64
		t, err := scanTrack(withPlays{rows, &plays})
		if err != nil {
			return nil, fmt.Errorf("reading trending row: %w", err)
		}
		out = append(out, &relay.TrendingTrack{StoredTrack: *t, Plays: plays})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading trending: %w", err)
	}
	return out, nil
}

// TrendingKeys is the first limit positions of Trending's order over the
// hours [since, until), keys only: what the appview caches of a ranking's
// head. The rows themselves are read a page at a time (Tracks); reading
// 20000 whole rows to keep their keys took the 1M bench's peak RSS from
// 509 to 539 MB.
func (s *Store) TrendingKeys(ctx context.Context, since, until int64, limit int) ([]relay.TrendingKey, error) {
	// +hour: as Trending's, for the same measured reason.
	rows, err := s.r.QueryContext(ctx, `WITH p AS (
	SELECT did, collection, rkey, SUM(count) AS plays FROM plays
	WHERE +hour >= ? AND +hour < ?
	GROUP BY did, collection, rkey
)
SELECT p.plays, t.sort_at, t.did, t.collection, t.rkey FROM p
JOIN tracks t ON t.did = p.did AND t.collection = p.collection AND t.rkey = p.rkey
LEFT JOIN actors a ON a.did = t.did
WHERE `+visible+`
ORDER BY p.plays DESC, t.sort_at DESC, t.did DESC, t.collection DESC, t.rkey DESC LIMIT ?`, since, until, limit)
	if err != nil {
		return nil, fmt.Errorf("querying trending keys: %w", err)
	}
	defer rows.Close()
	var out []relay.TrendingKey
	for rows.Next() {
		var k relay.TrendingKey
		var did, coll, rkey string
		if err := rows.Scan(&k.Plays, &k.Feed.SortAt, &did, &coll, &rkey); err != nil {
			return nil, fmt.Errorf("reading a trending key: %w", err)
		}
		// Written only from parsed values.
		k.Feed.DID, k.Feed.Collection, k.Feed.RKey = syntax.DID(did), syntax.NSID(coll), syntax.RecordKey(rkey)
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading trending keys: %w", err)
	}
	return out, nil
}

// withPlays reads one column more than scanTrack asks for: the plays sum.
type withPlays struct {
	r     rowScanner
	plays *int64
}

func (w withPlays) Scan(dest ...any) error { return w.r.Scan(append(dest, w.plays)...) }

// PrunePlays deletes the play counts of hours before before (unix hours)
// and returns how many rows went: trending reads every row it holds
// (Trending), so only the longest window's are kept.
func (s *Store) PrunePlays(ctx context.Context, before int64) (int64, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM plays WHERE hour < ?`, before)
	if err != nil {
		return 0, fmt.Errorf("pruning plays: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
