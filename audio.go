package relay

import (
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"
)

// AudioStatus is what the audio checker last concluded of a track's
// audioUrl (audiocheck/).
type AudioStatus string

const (
	// AudioUnchecked: not asked yet, or its audioUrl changed since.
	AudioUnchecked AudioStatus = ""
	// AudioOK: the audio answered (2xx, 206 or 416).
	AudioOK AudioStatus = "ok"
	// AudioMissing: answered 404 or 410 twice in a row, minutes apart. The
	// track leaves the feeds and search (not deleted) until a check finds
	// the audio again.
	AudioMissing AudioStatus = "missing"
	// AudioUnreachable: the last check got no answer (network error,
	// timeout, 5xx, 429, ...). It never hides a track.
	AudioUnreachable AudioStatus = "unreachable"
)

// AudioCheck is the audio checker's memory of one track's audio.
type AudioCheck struct {
	DID        syntax.DID
	Collection syntax.NSID
	RKey       syntax.RecordKey
	// AudioURL is the URL the state is about: when a store lists a check as
	// due, the track's current audioUrl (a changed one comes with the state
	// reset).
	AudioURL string
	Status   AudioStatus
	// Misses counts the 404/410 answers in a row.
	Misses int
	// CheckedAt is the last check (zero: never); NextAt the next one.
	CheckedAt, NextAt time.Time
}

// URI is the checked track's at-uri.
func (c *AudioCheck) URI() syntax.ATURI { return TrackURI(c.DID, c.Collection, c.RKey) }
