package relay

import "github.com/bluesky-social/indigo/atproto/syntax"

// Artist is an account as the discovery service knows it: one with visible
// tracks.
type Artist struct {
	DID syntax.DID
	// Handle is the account's handle as the store last learned it; empty
	// when it has none.
	Handle string
	// TrackCount is the number of the account's visible tracks.
	TrackCount int64
}

// Album is one album of an artist, as named by the artist's visible tracks.
type Album struct {
	Name       string
	TrackCount int64
	// ImageURL is the artwork of one of the album's tracks ('' when none has
	// one).
	ImageURL string
}
