package sqlite

import (
	"database/sql"
	"encoding/json"
	"fmt"

	gojson "github.com/goccy/go-json"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
)

// trackColumns are the columns scanTrack reads, in order, from a query over
// tracks t left-joined to actors a.
const trackColumns = `t.did, t.collection, t.rkey, t.rev, t.cid, t.title, t.artist, t.album, t.genre, t.tags,
	t.description, t.duration, t.file_type, t.audio_url, t.image_url, t.features, t.record,
	t.created_at, t.indexed_at, t.sort_at, COALESCE(a.handle, ''),
	CASE WHEN t.audio_missing THEN 'missing' ELSE COALESCE(
		(SELECT c.status FROM audio_checks c WHERE c.did = t.did AND c.collection = t.collection AND c.rkey = t.rkey), '') END`

// shown is the condition for a track a lookup by uri may show: live, its
// account active. A track whose audio is missing is still found by its uri
// (with audioStatus "missing"), so a shared link says why it will not play.
const shown = `t.deleted = 0 AND COALESCE(a.active, 1) = 1`

// visible is the condition for a track any list may show (feeds, artists'
// counts, search through Changes and VisibleTracks): shown, and its audio
// not found missing by the audio checker (audio.go).
const visible = shown + ` AND t.audio_missing = 0`

type rowScanner interface {
	Scan(dest ...any) error
}

func scanTrack(r rowScanner) (*relay.StoredTrack, error) {
	var (
		t                            relay.StoredTrack
		did, coll, rkey, tags, feats string
		record                       string
		duration                     sql.NullInt64
		createdAt, indexedAt, sortAt int64
	)
	if err := r.Scan(&did, &coll, &rkey, &t.Rev, &t.CID, &t.Title, &t.Artist, &t.Album, &t.Genre, &tags,
		&t.Description, &duration, &t.FileType, &t.AudioURL, &t.ImageURL, &feats, &record,
		&createdAt, &indexedAt, &sortAt, &t.Handle, &t.AudioStatus); err != nil {
		return nil, err
	}
	// Rows are written only from parsed values, so did, collection and rkey
	// are trusted here: parsing them again cost a fifth of a feed request.
	t.DID, t.Collection, t.RKey = syntax.DID(did), syntax.NSID(coll), syntax.RecordKey(rkey)
	// goccy: decoding these two small arrays with encoding/json was a tenth
	// of a feed request.
	if err := gojson.Unmarshal([]byte(tags), &t.Tags); err != nil {
		return nil, fmt.Errorf("stored track %s has bad tags: %w", t.URI(), err)
	}
	if err := gojson.Unmarshal([]byte(feats), &t.Features); err != nil {
		return nil, fmt.Errorf("stored track %s has bad features: %w", t.URI(), err)
	}
	if duration.Valid {
		d := duration.Int64
		t.Duration = &d
	}
	t.Record = json.RawMessage(record)
	t.CreatedAt = microTime(createdAt)
	t.IndexedAt = microTime(indexedAt)
	t.SortAt = microTime(sortAt)
	return &t, nil
}
