package validate

import (
	"errors"
	"slices"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
)

// validators are the music collections relay indexes, each with the
// function that checks its records: a collection is indexed exactly when
// there is a lexicon here to validate it by. Adding one (fm.plyr.track,
// once its lexicon is in lexicons/) is an entry here; the indexer's
// subscription and the backfill's walk follow.
var validators = map[syntax.NSID]func(did syntax.DID, rkey syntax.RecordKey, rev, cid string, raw []byte) (*relay.Track, error){
	relay.TrackCollection: Track,
}

// Collections returns the collections relay indexes, sorted. The slice is
// the caller's.
func Collections() []syntax.NSID {
	out := make([]syntax.NSID, 0, len(validators))
	for c := range validators {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// Known reports whether records of collection are indexed.
func Known(collection syntax.NSID) bool {
	_, ok := validators[collection]
	return ok
}

// Record validates a record (JSON) stored at did/collection/rkey by its
// collection's rules, as Track does for app.relay.track; the returned Track
// carries the collection. A collection that is not Known is refused (a
// *RejectError, ReasonInvalidRecord): callers ask Known first, and the
// wire's own reason for it is theirs.
func Record(did syntax.DID, collection syntax.NSID, rkey syntax.RecordKey, rev, cid string, raw []byte) (*relay.Track, error) {
	v, ok := validators[collection]
	if !ok {
		return nil, Reject(ReasonInvalidRecord, relay.TrackURI(did, collection, rkey).String(), errors.New("not a collection relay indexes"))
	}
	return v(did, rkey, rev, cid, raw)
}
