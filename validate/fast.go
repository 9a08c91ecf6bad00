package validate

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
	"github.com/relaymusic/relay/lexicons"
)

// trackFast is Track's validation past the checks on the key and the size
// (subject is the record's at-uri): the record read once into its typed
// form (fastscan.go) by rules read from the lexicon (fastplan.go), with the
// decision and the Track indigo's path gives (FuzzTrackAgrees holds it to
// that). handled is false for a shape it leaves to indigo's path, which
// the caller then runs.
func trackFast(subject string, did syntax.DID, rkey syntax.RecordKey, rev, cid string, raw []byte) (t *relay.Track, handled bool, err error) {
	if plan == nil {
		return nil, false, nil
	}
	// The data model's checks first, as lexicons.ValidateRecord makes them,
	// for the same reasons.
	if err := lexicons.CheckJSON(raw); err != nil {
		return nil, true, Reject(dataModelReason(err), subject, fmt.Errorf("record is not valid ATProto JSON: %w", err))
	}
	// One copy of the record, which every field's string shares.
	sc := scan{s: string(raw)}
	var f trackForm
	switch err := sc.record(plan, &f); {
	case errors.Is(err, errFallback):
		return nil, false, nil
	case err != nil:
		return nil, true, Reject(ReasonInvalidRecord, subject, err)
	}
	if sc.bad != "" {
		if sc.badField != "" {
			return nil, true, Reject(ReasonInvalidRecord, subject, fmt.Errorf("%s: %s", sc.badField, sc.bad))
		}
		return nil, true, Reject(ReasonInvalidRecord, subject, errors.New(sc.bad))
	}
	audioURL := f.str[fAudioURL]
	if !plainHTTPS(audioURL) && !IsMediaURL(audioURL) {
		return nil, true, Reject(ReasonInsecureURL, subject, errors.New("audioUrl is not an https URL"))
	}
	// The lexicon's datetime format has been checked by parsing it.
	created := f.created
	if !f.hasCreated {
		var err error
		if created, err = time.Parse(time.RFC3339Nano, f.str[fCreatedAt]); err != nil {
			return nil, true, Reject(ReasonInvalidRecord, subject, err)
		}
	}
	t = &relay.Track{
		DID:         did,
		Collection:  relay.TrackCollection,
		RKey:        rkey,
		Rev:         rev,
		CID:         cid,
		Title:       f.str[fTitle],
		Artist:      f.str[fArtist],
		Album:       f.str[fAlbum],
		Genre:       f.str[fGenre],
		Description: f.str[fDescription],
		FileType:    strings.ToLower(f.str[fFileType]),
		AudioURL:    audioURL,
		Record:      json.RawMessage(raw),
		CreatedAt:   created.UTC(),
		Tags:        f.tags,
		Features:    f.features,
	}
	if f.seen&(1<<fDuration) != 0 {
		d := f.integer[fDuration]
		t.Duration = &d
	}
	if u := f.str[fImageURL]; plainHTTPS(u) || IsMediaURL(u) {
		t.ImageURL = u
	}
	return t, true, nil
}
