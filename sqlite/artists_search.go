package sqlite

import (
	"context"
	"fmt"
	"strings"

	"github.com/bluesky-social/indigo/atproto/syntax"
)

// ArtistNames returns, for each of dids with visible tracks, the distinct
// artist names its visible tracks credit, those on the most tracks first
// (then by name), at most perArtist each (search.ArtistSource): what an
// artist is found by besides its handle. One query per 500 DIDs. A name
// credited on many tracks costs one row, so an artist with a million
// tracks under a million names still yields only perArtist of them.
func (s *Store) ArtistNames(ctx context.Context, dids []syntax.DID, perArtist int) (map[syntax.DID][]string, error) {
	out := map[syntax.DID][]string{}
	if perArtist < 1 {
		return out, nil
	}
	for len(dids) > 0 {
		n := min(len(dids), artistChunk)
		chunk := dids[:n]
		dids = dids[n:]
		args := make([]any, 0, len(chunk)+1)
		for _, d := range chunk {
			args = append(args, d.String())
		}
		args = append(args, perArtist)
		rows, err := s.r.QueryContext(ctx, `SELECT did, artist FROM (
	SELECT t.did AS did, t.artist AS artist,
		ROW_NUMBER() OVER (PARTITION BY t.did ORDER BY COUNT(*) DESC, t.artist) AS rn
	FROM tracks t LEFT JOIN actors a ON a.did = t.did
	WHERE t.did IN (?`+strings.Repeat(", ?", len(chunk)-1)+`) AND `+visible+` AND t.artist != ''
	GROUP BY t.did, t.artist)
WHERE rn <= ? ORDER BY did, rn`, args...)
		if err != nil {
			return nil, fmt.Errorf("querying artist names: %w", err)
		}
		for rows.Next() {
			var did, name string
			if err := rows.Scan(&did, &name); err != nil {
				rows.Close()
				return nil, fmt.Errorf("reading artist name row: %w", err)
			}
			d := syntax.DID(did) // written only from parsed values
			out[d] = append(out[d], name)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("reading artist names: %w", err)
		}
	}
	return out, nil
}

// touchArtist appends one outbox entry for an account whose handle
// changed, naming one of its live tracks: the search index rebuilds the
// artist document of every DID its entries name, so one entry refreshes
// the artist, however many tracks it has, and re-indexing that track is a
// no-op. An account without live tracks has no artist document, and gets
// no entry.
const touchArtist = `INSERT INTO outbox (did, collection, rkey)
SELECT did, collection, rkey FROM tracks WHERE did = ? AND deleted = 0 LIMIT 1`
