// Package relay holds the domain types of relay's discovery service: a track
// as indexed, the account state that decides whether it is shown, and the
// change feed (outbox) that carries SQLite's changes to the search index.
//
// It imports nothing of ours. The store (sqlite/), the search index (search/),
// the jetstream consumer (indexer/), the record rules (validate/), the
// backfill (backfill/), the handle resolver (handles/) and the HTTP layer
// (appview/) all speak these types; cmd/relay wires them together. One file
// per concern: relay.go (tracks, events, changes), stored.go (a track as a
// store reads it back, the feed key, an artist whose handle is to be looked
// up), queue.go (the backfill queue's repo states and rows), plays.go
// (plays per track per hour, trending's order), schema.go (the SQLite
// schema).
package relay

import (
	"encoding/json"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"
)

// TrackCollection is the NSID of relay's own track record, app.relay.track:
// today the only collection relay indexes. Which collections it indexes is
// what package validate can validate (validate.Collections); nothing else
// assumes there is one.
const TrackCollection = "app.relay.track"

// Track is one music record (app.relay.track today) as the service indexes
// it: the fields queries need, lifted out of the record, plus the record as
// it was written.
//
// A track is its at-uri (DESIGN.md, invariant 9): "Keys, tombstones,
// cursors and views carry the collection, so more than one music collection
// can be indexed side by side." Its key is (DID, Collection, RKey); a store
// refuses a track without a Collection.
type Track struct {
	DID        syntax.DID
	Collection syntax.NSID
	RKey       syntax.RecordKey
	// Rev is the repo revision (a TID) of the commit that wrote this version.
	Rev string
	CID string

	Title       string
	Artist      string
	Album       string
	Genre       string
	Tags        []string
	Description string
	// Duration is in seconds; nil when the record does not say.
	Duration *int64
	FileType string
	AudioURL string
	ImageURL string
	Features []Feature

	// Record is the record exactly as stored in the artist's repo (JSON).
	Record json.RawMessage

	CreatedAt time.Time // as the record claims
	IndexedAt time.Time // when this service first saw the record
	// SortAt = min(CreatedAt, IndexedAt): every "newest first" list orders by
	// it, so a future-dated record cannot stay on top and a backfilled old
	// track does not pose as new.
	SortAt time.Time
}

// Feature is a featured artist on a track.
type Feature struct {
	DID         string `json:"did,omitempty"`
	Handle      string `json:"handle,omitempty"`
	DisplayName string `json:"displayName,omitempty"`
}

// URI is the track's at-uri, its id everywhere in the service.
func (t *Track) URI() syntax.ATURI {
	return TrackURI(t.DID, t.Collection, t.RKey)
}

// TrackURI builds the at-uri of the track (did, collection, rkey).
func TrackURI(did syntax.DID, collection syntax.NSID, rkey syntax.RecordKey) syntax.ATURI {
	return syntax.ATURI("at://" + did.String() + "/" + collection.String() + "/" + rkey.String())
}

// SortTime returns min(createdAt, indexedAt).
func SortTime(createdAt, indexedAt time.Time) time.Time {
	if createdAt.IsZero() || createdAt.After(indexedAt) {
		return indexedAt
	}
	return createdAt
}

// Change is one entry of the outbox: the track at URI changed in SQLite at
// sequence Seq. Track is its current searchable state when it is visible
// (live and its account active): id, title, artist, album, genre, tags and
// sortAt, not the record. It is nil when the track must not be searchable
// (deleted or its account hidden).
type Change struct {
	Seq   int64
	URI   syntax.ATURI
	Track *Track
}

// EventKind says what an Event changes.
type EventKind int

const (
	// TrackPut creates or updates a track (Event.Track).
	TrackPut EventKind = iota + 1
	// TrackDelete deletes the track (Event.DID, Collection, RKey) at Rev.
	TrackDelete
	// AccountStatus sets whether the account's tracks are shown
	// (Event.Active, Status; Status "deleted" removes them).
	AccountStatus
	// IdentityUpdate refreshes the account's handle (Event.Handle).
	IdentityUpdate
)

// Event is one validated change from the network, ready to apply to the
// store. It comes from jetstream or from a backfill of a repo.
type Event struct {
	Kind EventKind
	DID  syntax.DID

	Track *Track // TrackPut

	Collection syntax.NSID      // TrackDelete
	RKey       syntax.RecordKey // TrackDelete
	Rev        string           // TrackDelete

	Active bool   // AccountStatus
	Status string // AccountStatus: deactivated, deleted, suspended, takendown, ...

	Handle string // IdentityUpdate; empty when the event carries none
}

// ApplyResult counts what a batch of events did to the store.
type ApplyResult struct {
	// Applied events changed the store.
	Applied int
	// Stale events changed nothing: a put or delete whose rev was not newer
	// than the stored one, an account or identity event that repeated the
	// stored state.
	Stale int
}
