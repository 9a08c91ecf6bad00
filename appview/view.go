package appview

import (
	"encoding/json"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
)

// TrackView is app.relay.feed.defs#trackView.
type TrackView struct {
	URI       string          `json:"uri"`
	CID       string          `json:"cid"`
	DID       string          `json:"did"`
	Handle    string          `json:"handle,omitempty"`
	Title     string          `json:"title"`
	Artist    string          `json:"artist"`
	Album     string          `json:"album,omitempty"`
	Genre     string          `json:"genre,omitempty"`
	Tags      []string        `json:"tags,omitempty"`
	Duration  *int64          `json:"duration,omitempty"`
	FileType  string          `json:"fileType"`
	AudioURL  string          `json:"audioUrl"`
	ImageURL  string          `json:"imageUrl,omitempty"`
	Features  []relay.Feature `json:"features,omitempty"`
	CreatedAt string          `json:"createdAt"`
	IndexedAt string          `json:"indexedAt"`
	// Record is the record re-encoded and bounded (servedRecord), never
	// the stored bytes.
	Record json.RawMessage `json:"record"`
}

// datetimeLayout is the ATProto datetime form (RFC 3339, UTC, milliseconds).
const datetimeLayout = "2006-01-02T15:04:05.000Z"

func trackView(t *relay.StoredTrack) TrackView {
	return TrackView{
		URI:       t.URI().String(),
		CID:       t.CID,
		DID:       t.DID.String(),
		Handle:    shownHandle(t.Handle),
		Title:     t.Title,
		Artist:    t.Artist,
		Album:     t.Album,
		Genre:     t.Genre,
		Tags:      t.Tags,
		Duration:  t.Duration,
		FileType:  t.FileType,
		AudioURL:  t.AudioURL,
		ImageURL:  t.ImageURL,
		Features:  t.Features,
		CreatedAt: formatTime(t.CreatedAt),
		IndexedAt: formatTime(t.IndexedAt),
		Record:    servedRecord(t),
	}
}

func formatTime(t time.Time) string { return t.UTC().Format(datetimeLayout) }

func trackViews(rows []*relay.StoredTrack) []TrackView {
	out := make([]TrackView, 0, len(rows))
	for _, r := range rows {
		out = append(out, trackView(r))
	}
	return out
}

// shownHandle hides the placeholder of an account whose handle does not
// verify.
func shownHandle(h string) string {
	if h == syntax.HandleInvalid.String() {
		return ""
	}
	return h
}
