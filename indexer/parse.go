package indexer

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/bluesky-social/jetstream/pkg/models"

	"github.com/relaymusic/relay"
	"github.com/relaymusic/relay/validate"
)

// Reasons a jetstream event is rejected, as counted in
// relay_ingest_rejected_total{reason}, beside the record reasons of package
// validate (validate.Reasons).
const (
	ReasonBadDID        = "bad_did"
	ReasonUnknownKind   = "unknown_kind"
	ReasonBadCollection = "bad_collection"
	ReasonBadRev        = "bad_rev"
	ReasonBadOperation  = "bad_operation"
	ReasonBadCID        = "bad_cid"
	ReasonBadHandle     = "bad_handle"
	ReasonBadStatus     = "bad_status"
	ReasonOther         = "other"
)

// MaxStatusBytes bounds an account event's status. Real ones are short
// words (deactivated, takendown, desynchronized); it is stored and shown.
const MaxStatusBytes = 64

func reject(reason, subject string, err error) *validate.RejectError {
	return validate.Reject(reason, subject, err)
}

// ParseEvent checks a jetstream event and turns it into a relay.Event. Every
// field that comes from the network is parsed here, once, the record by
// validate.Track; an error is always a *validate.RejectError. A create or
// update whose record is invalid, but whose repo, key and rev are sound, returns the error together with a TrackDelete at
// that rev: the repo no longer holds a valid version of the track, so the
// one we hold must not be shown. Otherwise the event is zero on error.
// Pure: no I/O.
func ParseEvent(evt *models.Event) (relay.Event, error) {
	did, err := syntax.ParseDID(evt.Did)
	if err != nil {
		return relay.Event{}, reject(ReasonBadDID, evt.Did, err)
	}
	out := relay.Event{DID: did}
	switch evt.Kind {
	case models.EventKindCommit:
		if evt.Commit == nil {
			return out, reject(validate.ReasonMissingBody, evt.Did, errors.New("commit event without commit"))
		}
		return parseCommit(out, evt.Commit)
	case models.EventKindIdentity:
		out.Kind = relay.IdentityUpdate
		if evt.Identity != nil && evt.Identity.Handle != nil && *evt.Identity.Handle == syntax.HandleInvalid.String() {
			// The account no longer holds a verified handle: stop showing
			// the old one.
			out.Handle = syntax.HandleInvalid.String()
		} else if evt.Identity != nil && evt.Identity.Handle != nil {
			h, err := syntax.ParseHandle(*evt.Identity.Handle)
			if err != nil {
				return relay.Event{}, reject(ReasonBadHandle, evt.Did, err)
			}
			out.Handle = h.Normalize().String()
		}
		return out, nil
	case models.EventKindAccount:
		if evt.Account == nil {
			return out, reject(validate.ReasonMissingBody, evt.Did, errors.New("account event without account"))
		}
		out.Kind = relay.AccountStatus
		out.Active = evt.Account.Active
		if evt.Account.Status != nil {
			st := *evt.Account.Status
			if len(st) > MaxStatusBytes || !utf8.ValidString(st) {
				return relay.Event{}, reject(ReasonBadStatus, evt.Did, fmt.Errorf("account status of %d bytes is not a short UTF-8 word", len(st)))
			}
			out.Status = st
		}
		return out, nil
	default:
		return out, reject(ReasonUnknownKind, evt.Did, fmt.Errorf("unknown event kind %q", evt.Kind))
	}
}

func parseCommit(out relay.Event, c *models.Commit) (relay.Event, error) {
	subject := "at://" + out.DID.String() + "/" + c.Collection + "/" + c.RKey
	// Known only answers for a handful of NSIDs, so the unparsed string is
	// safe to ask with; from here it is one of them.
	collection := syntax.NSID(c.Collection)
	if !validate.Known(collection) {
		return out, reject(ReasonBadCollection, subject, fmt.Errorf("collection %q is not one relay indexes", c.Collection))
	}
	// Every music lexicon indexed today keys its records by tid; a
	// collection that does not would check its own rkeys in validate.
	// validate's ParseTID and ParseCID are syntax's checks without their
	// regexps (fuzzed against them): the regexps were a third of this
	// function once the record's own checks were fast.
	if _, err := validate.ParseTID(c.RKey); err != nil {
		return out, reject(validate.ReasonBadRKey, subject, err)
	}
	rkey := syntax.RecordKey(c.RKey)
	rev, err := validate.ParseTID(c.Rev)
	if err != nil {
		return out, reject(ReasonBadRev, subject, err)
	}
	switch c.Operation {
	case models.CommitOperationDelete:
		out.Kind = relay.TrackDelete
		out.Collection = collection
		out.RKey = rkey
		out.Rev = rev.String()
		return out, nil
	case models.CommitOperationCreate, models.CommitOperationUpdate:
		// From here the repo is known to hold *something* at this key and
		// rev. If it is not a valid track, whatever we showed for the key
		// is no longer in the repo: the event comes back as a delete at its
		// rev, along with the rejection.
		invalidated := out
		invalidated.Kind, invalidated.Collection, invalidated.RKey, invalidated.Rev = relay.TrackDelete, collection, rkey, rev.String()
		if _, err := validate.ParseCID(c.CID); err != nil {
			return invalidated, reject(ReasonBadCID, subject, err)
		}
		t, err := validate.Record(out.DID, collection, rkey, rev.String(), c.CID, c.Record)
		if err != nil {
			return invalidated, err
		}
		out.Kind = relay.TrackPut
		out.Track = t
		return out, nil
	default:
		return out, reject(ReasonBadOperation, subject, fmt.Errorf("unknown operation %q", c.Operation))
	}
}
