package appview

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
)

// TrackView is app.relay.feed.defs#trackView.
type TrackView struct {
	URI      string          `json:"uri"`
	CID      string          `json:"cid"`
	DID      string          `json:"did"`
	Handle   string          `json:"handle,omitempty"`
	Title    string          `json:"title"`
	Artist   string          `json:"artist"`
	Album    string          `json:"album,omitempty"`
	Genre    string          `json:"genre,omitempty"`
	Tags     []string        `json:"tags,omitempty"`
	Duration *int64          `json:"duration,omitempty"`
	FileType string          `json:"fileType"`
	AudioURL string          `json:"audioUrl"`
	ImageURL string          `json:"imageUrl,omitempty"`
	Features []relay.Feature `json:"features,omitempty"`
	// Uploader and FeaturedArtists are hydrated per page (Server.views).
	Uploader        ArtistView   `json:"uploader"`
	FeaturedArtists []ArtistView `json:"featuredArtists,omitempty"`
	CreatedAt       string       `json:"createdAt"`
	IndexedAt       string       `json:"indexedAt"`
	// AudioStatus is the audio checker's last word on AudioURL.
	AudioStatus string `json:"audioStatus"`
	// Record is the record re-encoded and bounded (servedRecord), never
	// the stored bytes.
	Record json.RawMessage `json:"record"`
}

// datetimeLayout is the ATProto datetime form (RFC 3339, UTC, milliseconds).
const datetimeLayout = "2006-01-02T15:04:05.000Z"

// trackView is t's view without its hydrated artists; record is t's
// servedRecord.
func trackView(t *relay.StoredTrack, record json.RawMessage) TrackView {
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
		Uploader:  ArtistView{DID: t.DID.String(), Handle: shownHandle(t.Handle)},
		CreatedAt: formatTime(t.CreatedAt),
		IndexedAt: formatTime(t.IndexedAt),
		Record:    record,

		AudioStatus: audioStatus(t.AudioStatus),
	}
}

// audioStatus names a store's audio status as the lexicon does.
func audioStatus(s relay.AudioStatus) string {
	if s == relay.AudioUnchecked {
		return "unchecked"
	}
	return string(s)
}

func formatTime(t time.Time) string { return t.UTC().Format(datetimeLayout) }

// ArtistView is app.relay.actor.defs#artistView.
type ArtistView struct {
	DID         string `json:"did"`
	Handle      string `json:"handle,omitempty"`
	DisplayName string `json:"displayName,omitempty"`
	Avatar      string `json:"avatar,omitempty"`
	TrackCount  int64  `json:"trackCount"`
}

func artistView(a relay.Artist) ArtistView {
	return ArtistView{DID: a.DID.String(), Handle: shownHandle(a.Handle), TrackCount: a.TrackCount}
}

// views builds the views of a page, with uploader and featured artists
// hydrated from one store query for the whole page (never one per track).
// A feature whose did is not a DID gets no artist view (it keeps its place
// in features); a featured artist's handle is the one this service knows
// for that DID, never the one the record claims.
func (s *Server) views(ctx context.Context, rows []*relay.StoredTrack) ([]TrackView, error) {
	seen := map[syntax.DID]bool{}
	var dids []syntax.DID
	want := func(d syntax.DID) {
		if !seen[d] {
			seen[d] = true
			dids = append(dids, d)
		}
	}
	for _, r := range rows {
		want(r.DID)
		for _, f := range r.Features {
			if d, err := syntax.ParseDID(f.DID); err == nil {
				want(d)
			}
		}
	}
	known := map[syntax.DID]relay.Artist{}
	if len(dids) > 0 {
		as, err := s.store.Artists(ctx, dids)
		if err != nil {
			return nil, fmt.Errorf("hydrating artists: %w", err)
		}
		for _, a := range as {
			known[a.DID] = a
		}
	}
	out := make([]TrackView, 0, len(rows))
	for _, r := range rows {
		v := trackView(r, s.records.served(r))
		if a, ok := known[r.DID]; ok {
			v.Uploader.TrackCount = a.TrackCount
		}
		for _, f := range r.Features {
			d, err := syntax.ParseDID(f.DID)
			if err != nil {
				continue
			}
			a := known[d]
			v.FeaturedArtists = append(v.FeaturedArtists, ArtistView{
				DID: d.String(), Handle: shownHandle(a.Handle), DisplayName: f.DisplayName, TrackCount: a.TrackCount,
			})
		}
		out = append(out, v)
	}
	return out, nil
}

// shownHandle hides the placeholder of an account whose handle does not
// verify.
func shownHandle(h string) string {
	if h == syntax.HandleInvalid.String() {
		return ""
	}
	return h
}
