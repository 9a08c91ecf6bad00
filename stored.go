package relay

import "github.com/bluesky-social/indigo/atproto/syntax"

// StoredTrack is a track as a store reads it back for a query: the track,
// and what the store knows of its artist's account.
type StoredTrack struct {
	Track
	// Handle is the artist's handle as the store last learned it; empty
	// when it has none.
	Handle string
	// AudioStatus is the audio checker's last word on AudioURL.
	AudioStatus AudioStatus
}

// FeedKey is the position of a track in the discovery feed's order: SortAt
// descending, then DID, Collection and RKey descending to break ties (the
// track's whole key, so no two tracks share a position). It is the whole
// of a feed cursor, so a page after it never depends on the process or the
// store that issued it.
type FeedKey struct {
	SortAt     int64 // Track.SortAt, unix microseconds
	DID        syntax.DID
	Collection syntax.NSID
	RKey       syntax.RecordKey
}

// Key is the track's position in the feed's order.
func (t *Track) Key() FeedKey {
	return FeedKey{SortAt: t.SortAt.UnixMicro(), DID: t.DID, Collection: t.Collection, RKey: t.RKey}
}

// UnresolvedActor is an artist (an account with tracks) whose handle is not known yet,
// or whose handle an identity event asked to look up afresh.
type UnresolvedActor struct {
	DID syntax.DID
	// Attempts is the number of failed lookups so far.
	Attempts int
	// Recheck is non-zero when an identity event without a handle asked for
	// this lookup: the DID document changed, so a cached one is stale. It is
	// passed back with the answer, so that an answer to an older question
	// never overwrites a newer event.
	Recheck int64
}
