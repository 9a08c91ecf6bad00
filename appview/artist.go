package appview

import (
	"context"
	"net/http"
	"net/url"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
	"github.com/relaymusic/relay/validate"
)

// maxTrackURIs bounds getTracks' uris, as its lexicon does.
const maxTrackURIs = 25

// maxAlbums bounds the albums getArtist lists.
const maxAlbums = 100

// maxAlbumBytes bounds getArtistFeed's album, as the track lexicon bounds
// album.
const maxAlbumBytes = 3000

// maxActorBytes bounds an actor parameter: a DID is at most 2 KiB, a
// handle 253 characters.
const maxActorBytes = 2048

func notFound(format string, args ...any) *xrpcError {
	e := invalidRequest(format, args...)
	e.Status, e.Name = http.StatusNotFound, "NotFound"
	return e
}

// getTracks: app.relay.feed.getTracks.
func (s *Server) getTracks(ctx context.Context, r *http.Request) (any, error) {
	uris, err := parseTrackURIs(r.URL.Query())
	if err != nil {
		return nil, err
	}
	rows, err := s.store.Tracks(ctx, uris)
	if err != nil {
		return nil, err
	}
	views, err := s.views(ctx, rows)
	if err != nil {
		return nil, err
	}
	return struct {
		Tracks []TrackView `json:"tracks"`
	}{Tracks: views}, nil
}

// parseTrackURIs reads getTracks' uris: 1 to 25 at-uris of records. One
// naming a handle rather than a DID is well formed but never stored, so it
// is left out of the answer like an unknown one.
func parseTrackURIs(q url.Values) ([]syntax.ATURI, error) {
	raw := q["uris"]
	switch {
	case len(raw) == 0:
		return nil, invalidRequest("uris is required")
	case len(raw) > maxTrackURIs:
		return nil, invalidRequest("uris takes at most %d at-uris, got %d", maxTrackURIs, len(raw))
	}
	out := make([]syntax.ATURI, 0, len(raw))
	for i, u := range raw {
		uri, err := syntax.ParseATURI(u)
		if err != nil || uri.Collection() == "" || uri.RecordKey() == "" {
			return nil, invalidRequest("uris[%d] is not the at-uri of a record", i)
		}
		out = append(out, uri)
	}
	return out, nil
}

// artistParam reads the actor parameter and finds the artist (an account
// with visible tracks): 400 when it is neither DID nor handle, 404 when no
// such artist is shown here.
func (s *Server) artistParam(ctx context.Context, q url.Values) (*relay.Artist, error) {
	raw := q.Get("actor")
	if raw == "" {
		return nil, invalidRequest("actor is required")
	}
	if len(raw) > maxActorBytes {
		return nil, invalidRequest("actor must be a DID or a handle")
	}
	id, err := syntax.ParseAtIdentifier(raw)
	if err != nil {
		return nil, invalidRequest("actor must be a DID or a handle")
	}
	var a *relay.Artist
	if id.IsDID() {
		as, err := s.store.Artists(ctx, []syntax.DID{id.DID()})
		if err != nil {
			return nil, err
		}
		if len(as) == 1 {
			a = &as[0]
		}
	} else {
		if a, err = s.store.ArtistByHandle(ctx, id.Handle().Normalize()); err != nil {
			return nil, err
		}
	}
	if a == nil {
		return nil, notFound("no artist %s here", raw)
	}
	return a, nil
}

// getArtistFeed: app.relay.feed.getArtistFeed.
func (s *Server) getArtistFeed(ctx context.Context, r *http.Request) (any, error) {
	q := r.URL.Query()
	// Parameters first, so a bad cursor is a 400 whatever the actor.
	after, limit, err := parseFeedParams(q)
	if err != nil {
		return nil, err
	}
	album := q.Get("album")
	if len(album) > maxAlbumBytes {
		return nil, invalidRequest("album is longer than %d bytes", maxAlbumBytes)
	}
	a, err := s.artistParam(ctx, q)
	if err != nil {
		return nil, err
	}
	rows, err := s.store.ArtistFeed(ctx, a.DID, album, after, limit)
	if err != nil {
		return nil, err
	}
	return s.feedAnswer(ctx, rows, limit)
}

// ArtistViewDetailed is app.relay.actor.defs#artistViewDetailed.
type ArtistViewDetailed struct {
	ArtistView
	Albums []AlbumView `json:"albums"`
}

// AlbumView is app.relay.actor.defs#albumView.
type AlbumView struct {
	Name       string `json:"name"`
	TrackCount int64  `json:"trackCount"`
	ImageURL   string `json:"imageUrl,omitempty"`
}

// getArtist: app.relay.actor.getArtist.
func (s *Server) getArtist(ctx context.Context, r *http.Request) (any, error) {
	a, err := s.artistParam(ctx, r.URL.Query())
	if err != nil {
		return nil, err
	}
	albums, err := s.store.Albums(ctx, a.DID, maxAlbums)
	if err != nil {
		return nil, err
	}
	out := ArtistViewDetailed{ArtistView: artistView(*a), Albums: make([]AlbumView, 0, len(albums))}
	for _, al := range albums {
		v := AlbumView{Name: al.Name, TrackCount: al.TrackCount}
		if validate.IsMediaURL(al.ImageURL) {
			v.ImageURL = al.ImageURL
		}
		out.Albums = append(out.Albums, v)
	}
	return out, nil
}
