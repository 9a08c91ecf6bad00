package relay

import "github.com/bluesky-social/indigo/atproto/syntax"

// HourSeconds is the length of a plays hour: plays are counted per track
// per hour, the hour being unix seconds / HourSeconds.
const HourSeconds = 3600

// PlayCount is N plays of the track (DID, Collection, RKey) counted in one
// hour (unix seconds / HourSeconds). No listener, nor anything derived from
// one, is part of it: that is all a store keeps of a play.
type PlayCount struct {
	DID        syntax.DID
	Collection syntax.NSID
	RKey       syntax.RecordKey
	Hour       int64
	N          int64
}

// TrendingKey is a track's position in trending order: Plays descending,
// then its feed position (FeedKey) descending to break ties, so no two
// tracks share a position. Plays are summed over a window of whole, past
// hours, which never change: a page after a key neither repeats nor skips.
type TrendingKey struct {
	Plays int64
	Feed  FeedKey
}

// TrendingTrack is a track as trending lists it: the track and the plays
// it had in the window asked.
type TrendingTrack struct {
	StoredTrack
	Plays int64
}

// TrendingKey is the track's position in trending order.
func (t *TrendingTrack) TrendingKey() TrendingKey {
	return TrendingKey{Plays: t.Plays, Feed: t.Key()}
}
