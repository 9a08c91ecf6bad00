package validate

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
	"github.com/relaymusic/relay/lexicons"
)

// MaxRecordBytes caps a track record's JSON. The lexicon's own limits keep a
// valid record far below it; a record padded with unknown fields beyond it
// would be stored and served whole.
const MaxRecordBytes = 64 << 10

// Track validates a track record (JSON) stored at did/app.relay.track/rkey
// against the app.relay.track lexicon and relay's own rules, and lifts out
// its fields. rev and cid describe the commit that carried the record: they
// are copied, not checked, so the caller parses them first. The returned
// Track keeps raw as its Record. An error is always a *RejectError.
// Pure: no I/O.
func Track(did syntax.DID, rkey syntax.RecordKey, rev, cid string, raw []byte) (*relay.Track, error) {
	return track(did, rkey, rev, cid, raw, true)
}

// trackIndigo is Track by indigo's validator alone: the reference the fast
// path (fast.go) is held to, and what Track falls back on.
func trackIndigo(did syntax.DID, rkey syntax.RecordKey, rev, cid string, raw []byte) (*relay.Track, error) {
	return track(did, rkey, rev, cid, raw, false)
}

func track(did syntax.DID, rkey syntax.RecordKey, rev, cid string, raw []byte, fast bool) (*relay.Track, error) {
	subject := relay.TrackURI(did, relay.TrackCollection, rkey).String()
	// The track lexicon's record key type is tid.
	if _, err := ParseTID(rkey.String()); err != nil {
		return nil, Reject(ReasonBadRKey, subject, err)
	}
	if len(raw) == 0 {
		return nil, Reject(ReasonMissingBody, subject, errors.New("create or update without a record"))
	}
	if len(raw) > MaxRecordBytes {
		return nil, Reject(ReasonTooLarge, subject, fmt.Errorf("record is %d bytes, over %d", len(raw), MaxRecordBytes))
	}
	if fast {
		if t, handled, err := trackFast(subject, did, rkey, rev, cid, raw); handled {
			return t, err
		}
	}
	rec, err := lexicons.ValidateRecord(relay.TrackCollection, raw)
	if err != nil {
		return nil, Reject(dataModelReason(err), subject, err)
	}
	// The lexicon has checked every type below; read the fields straight
	// from the validated data rather than decoding the JSON a second time.
	audioURL := str(rec, "audioUrl")
	// Record text is untrusted: the player only ever fetches https audio
	// (or this instance's own, see TrustOrigin).
	if !IsMediaURL(audioURL) {
		return nil, Reject(ReasonInsecureURL, subject, errors.New("audioUrl is not an https URL"))
	}
	created, err := syntax.ParseDatetime(str(rec, "createdAt"))
	if err != nil { // the lexicon checked it; keep the check honest anyway
		return nil, Reject(ReasonInvalidRecord, subject, err)
	}
	t := &relay.Track{
		DID:         did,
		Collection:  relay.TrackCollection,
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
	if u := str(rec, "imageUrl"); IsMediaURL(u) {
		t.ImageURL = u
	}
	return t, nil
}

// dataModelReason is the reject reason of a record the data model's
// checks refused (lexicons.CheckJSON, and ValidateRecord, which makes
// them first).
func dataModelReason(err error) string {
	switch {
	case errors.Is(err, lexicons.ErrTooDeep):
		return ReasonTooDeep
	case errors.Is(err, lexicons.ErrInvalidUTF8):
		return ReasonInvalidUTF8
	}
	return ReasonInvalidRecord
}

func str(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

// IsHTTPS reports whether raw is an https URL with a host and no userinfo
// (https://relay.example@elsewhere.example names elsewhere): the rule for
// every URL of a record that relay lets into a src or an href.
func IsHTTPS(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && u.Scheme == "https" && u.Host != "" && u.User == nil
}
