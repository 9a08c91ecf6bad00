package indexer

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/bluesky-social/jetstream/pkg/models"

	"github.com/relaymusic/relay"
	"github.com/relaymusic/relay/lexicons"
)

// Reasons a jetstream event is rejected, as counted in
// relay_ingest_rejected_total{reason}.
const (
	ReasonBadDID        = "bad_did"
	ReasonUnknownKind   = "unknown_kind"
	ReasonBadCollection = "bad_collection"
	ReasonBadRKey       = "bad_rkey"
	ReasonBadRev        = "bad_rev"
	ReasonBadOperation  = "bad_operation"
	ReasonBadCID        = "bad_cid"
	ReasonInvalidRecord = "invalid_record"
	ReasonInsecureURL   = "insecure_audio_url"
	ReasonBadHandle     = "bad_handle"
	ReasonMissingBody   = "missing_body"
	ReasonTooLarge      = "record_too_large"
	ReasonTooDeep       = "record_too_deep"
	ReasonInvalidUTF8   = "invalid_utf8"
	ReasonBadStatus     = "bad_status"
	ReasonOther         = "other"
)

// MaxStatusBytes bounds an account event's status. Real ones are short
// words (deactivated, takendown, desynchronized); it is stored and shown.
const MaxStatusBytes = 64

// MaxRecordBytes caps a track record's JSON. The lexicon's own limits keep a
// valid record far below it; a record padded with unknown fields beyond it
// would be stored and served whole.
const MaxRecordBytes = 64 << 10

// RejectError is a network event that cannot be applied. It names the reason
// (a metric label) and the at-uri or DID it concerns, never the record body.
type RejectError struct {
	Reason string
	// Subject is the at-uri of the record, or the DID for account-level events.
	Subject string
	Err     error
}

func (e *RejectError) Error() string {
	return fmt.Sprintf("rejected %s (%s): %v", e.Subject, e.Reason, e.Err)
}

func (e *RejectError) Unwrap() error { return e.Err }

func reject(reason, subject string, err error) *RejectError {
	return &RejectError{Reason: reason, Subject: subject, Err: err}
}

// ParseEvent checks a jetstream event and turns it into a relay.Event. Every
// field that comes from the network is parsed here, once; an error is always
// a *RejectError. A create or update whose record is invalid, but whose repo,
// key and rev are sound, returns the error together with a TrackDelete at
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
			return out, reject(ReasonMissingBody, evt.Did, errors.New("commit event without commit"))
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
			return out, reject(ReasonMissingBody, evt.Did, errors.New("account event without account"))
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
	if c.Collection != relay.TrackCollection {
		return out, reject(ReasonBadCollection, subject, fmt.Errorf("collection %q is not %s", c.Collection, relay.TrackCollection))
	}
	// The track lexicon's record key type is tid.
	if _, err := syntax.ParseTID(c.RKey); err != nil {
		return out, reject(ReasonBadRKey, subject, err)
	}
	rkey := syntax.RecordKey(c.RKey)
	rev, err := syntax.ParseTID(c.Rev)
	if err != nil {
		return out, reject(ReasonBadRev, subject, err)
	}
	switch c.Operation {
	case models.CommitOperationDelete:
		out.Kind = relay.TrackDelete
		out.RKey = rkey
		out.Rev = rev.String()
		return out, nil
	case models.CommitOperationCreate, models.CommitOperationUpdate:
		// From here the repo is known to hold *something* at this key and
		// rev. If it is not a valid track, whatever we showed for the key
		// is no longer in the repo: the event comes back as a delete at its
		// rev, along with the rejection.
		invalidated := out
		invalidated.Kind, invalidated.RKey, invalidated.Rev = relay.TrackDelete, rkey, rev.String()
		if _, err := syntax.ParseCID(c.CID); err != nil {
			return invalidated, reject(ReasonBadCID, subject, err)
		}
		t, err := ParseTrack(out.DID, rkey, rev.String(), c.CID, c.Record)
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

// ParseTrack validates a track record (JSON) against the app.relay.track
// lexicon and lifts out its fields. rev and cid must already be checked.
// An error is always a *RejectError.
func ParseTrack(did syntax.DID, rkey syntax.RecordKey, rev, cid string, raw []byte) (*relay.Track, error) {
	subject := relay.TrackURI(did, rkey).String()
	if len(raw) == 0 {
		return nil, reject(ReasonMissingBody, subject, errors.New("create or update without a record"))
	}
	if len(raw) > MaxRecordBytes {
		return nil, reject(ReasonTooLarge, subject, fmt.Errorf("record is %d bytes, over %d", len(raw), MaxRecordBytes))
	}
	rec, err := lexicons.ValidateRecord(relay.TrackCollection, raw)
	if err != nil {
		reason := ReasonInvalidRecord
		switch {
		case errors.Is(err, lexicons.ErrTooDeep):
			reason = ReasonTooDeep
		case errors.Is(err, lexicons.ErrInvalidUTF8):
			reason = ReasonInvalidUTF8
		}
		return nil, reject(reason, subject, err)
	}
	// The lexicon has checked every type below; read the fields straight
	// from the validated data rather than decoding the JSON a second time.
	audioURL := str(rec, "audioUrl")
	// Record text is untrusted: the player only ever fetches https audio.
	if !isHTTPS(audioURL) {
		return nil, reject(ReasonInsecureURL, subject, errors.New("audioUrl is not an https URL"))
	}
	created, err := syntax.ParseDatetime(str(rec, "createdAt"))
	if err != nil { // the lexicon checked it; keep the check honest anyway
		return nil, reject(ReasonInvalidRecord, subject, err)
	}
	t := &relay.Track{
		DID:         did,
		RKey:        rkey,
		Rev:         rev,
		CID:         cid,
		Title:       str(rec, "title"),
		Artist:      str(rec, "artist"),
		Album:       str(rec, "album"),
		Genre:       str(rec, "genre"),
		Description: str(rec, "description"),
		FileType:    strings.ToLower(str(rec, "fileType")),
		AudioURL:    audioURL,
		Record:      json.RawMessage(raw),
		CreatedAt:   created.Time().UTC(),
	}
	if d, ok := rec["duration"].(int64); ok {
		t.Duration = &d
	}
	if tags, ok := rec["tags"].([]any); ok {
		for _, v := range tags {
			if s, ok := v.(string); ok {
				t.Tags = append(t.Tags, s)
			}
		}
	}
	if feats, ok := rec["features"].([]any); ok {
		for _, v := range feats {
			if m, ok := v.(map[string]any); ok {
				t.Features = append(t.Features, relay.Feature{DID: str(m, "did"), Handle: str(m, "handle"), DisplayName: str(m, "displayName")})
			}
		}
	}
	// A cover that is not https is left out of views rather than failing the
	// whole track.
	if u := str(rec, "imageUrl"); isHTTPS(u) {
		t.ImageURL = u
	}
	return t, nil
}

func str(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

func isHTTPS(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && u.Scheme == "https" && u.Host != ""
}
