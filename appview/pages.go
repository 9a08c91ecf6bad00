package appview

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
	"github.com/relaymusic/relay/validate"
)

// The web UI (package web) renders its pages from the methods here: the
// same hydrated views the XRPC queries answer with, so visibility,
// hydration and the media URL rule are decided once, in this package.

// ErrNotFound is what a page method answers for a track or an artist not
// shown here (unknown, deleted, hidden, or not a DID or handle at all).
var ErrNotFound = errors.New("not found")

// ErrInvalid is what a page method answers for a bad parameter (a cursor
// this service did not issue).
var ErrInvalid = errors.New("invalid request")

// FeedPage is one page of tracks in feed order.
type FeedPage struct {
	Tracks []TrackView
	// Cursor continues the list after Tracks ("" on the last page); the
	// XRPC list queries take it too.
	Cursor string
}

// DiscoveryFeed is a page of getDiscoveryFeed: every track, newest first,
// after cursor ("" from the top).
func (s *Server) DiscoveryFeed(ctx context.Context, cursor string, limit int) (FeedPage, error) {
	after, err := pageCursor(cursor)
	if err != nil {
		return FeedPage{}, err
	}
	rows, err := s.store.Feed(ctx, after, limit)
	if err != nil {
		return FeedPage{}, fmt.Errorf("reading the feed: %w", err)
	}
	return s.pageOf(ctx, rows, limit)
}

// ArtistFeed is a page of getArtistFeed: one artist's tracks, newest first.
func (s *Server) ArtistFeed(ctx context.Context, did syntax.DID, cursor string, limit int) (FeedPage, error) {
	after, err := pageCursor(cursor)
	if err != nil {
		return FeedPage{}, err
	}
	rows, err := s.store.ArtistFeed(ctx, did, "", after, limit)
	if err != nil {
		return FeedPage{}, fmt.Errorf("reading the artist feed: %w", err)
	}
	return s.pageOf(ctx, rows, limit)
}

// Artist is getArtist's answer for actor, a DID or a handle.
func (s *Server) Artist(ctx context.Context, actor string) (ArtistViewDetailed, error) {
	out, err := s.getArtist(ctx, &http.Request{URL: &url.URL{RawQuery: url.Values{"actor": {actor}}.Encode()}})
	if err != nil {
		return ArtistViewDetailed{}, pageError(err)
	}
	return out.(ArtistViewDetailed), nil
}

// Track is the view of the track at at://did/app.relay.track/rkey.
func (s *Server) Track(ctx context.Context, did syntax.DID, rkey syntax.RecordKey) (TrackView, error) {
	rows, err := s.store.Tracks(ctx, []syntax.ATURI{relay.TrackURI(did, relay.TrackCollection, rkey)})
	if err != nil {
		return TrackView{}, fmt.Errorf("reading track: %w", err)
	}
	if len(rows) == 0 {
		return TrackView{}, fmt.Errorf("track %s/%s: %w", did, rkey, ErrNotFound)
	}
	p, err := s.pageOf(ctx, rows, 0)
	if err != nil {
		return TrackView{}, err
	}
	return p.Tracks[0], nil
}

// pageOf hydrates rows; a URL that fails validate.IsMediaURL (a row older
// than the rule) is blanked, so a page never offers it to a browser.
func (s *Server) pageOf(ctx context.Context, rows []*relay.StoredTrack, limit int) (FeedPage, error) {
	views, err := s.views(ctx, rows)
	if err != nil {
		return FeedPage{}, err
	}
	for i := range views {
		if !validate.IsMediaURL(views[i].AudioURL) {
			views[i].AudioURL = ""
		}
		if !validate.IsMediaURL(views[i].ImageURL) {
			views[i].ImageURL = ""
		}
	}
	p := FeedPage{Tracks: views}
	if limit > 0 && len(rows) == limit {
		p.Cursor = encodeFeedCursor(rows[len(rows)-1].Key())
	}
	return p, nil
}

func pageCursor(c string) (*relay.FeedKey, error) {
	if c == "" {
		return nil, nil
	}
	k, err := decodeFeedCursor(c)
	if err != nil {
		return nil, fmt.Errorf("cursor: %w", ErrInvalid)
	}
	return &k, nil
}

// pageError turns an XRPC 404 or 400 into ErrNotFound, another 4xx into
// ErrInvalid, and a 5xx into a plain error (the page is then a server
// error, not a bad link); other errors pass as they are.
func pageError(err error) error {
	var xe *xrpcError
	if !errors.As(err, &xe) {
		return err
	}
	if xe.Status == http.StatusNotFound || xe.Status == http.StatusBadRequest {
		// An actor that is neither a DID nor a handle names nobody here.
		return fmt.Errorf("%s: %w", xe.Message, ErrNotFound)
	}
	if xe.Status >= 500 {
		// The server's failure (a timeout, overload), not a bad request:
		// the page says so rather than blaming the link.
		return fmt.Errorf("%s: %s", xe.Name, xe.Message)
	}
	return fmt.Errorf("%s: %w", xe.Message, ErrInvalid)
}
