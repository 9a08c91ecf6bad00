package appview

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
	"github.com/relaymusic/relay/search"
)

// ArtistSearcher is what searchArtists asks of the search index. The
// index given as Config.Index answers it when it can (*search.Index does);
// otherwise searchArtists answers 501 MethodNotImplemented.
type ArtistSearcher interface {
	SearchArtists(ctx context.Context, q search.ArtistQuery) (search.ArtistResult, error)
}

// maxSearchBytes bounds q as searchArtists' lexicon does (and the index).
const maxSearchBytes = 256

// parseArtistSearchParams reads searchArtists' parameters: q (required, at
// most 256 bytes), limit and cursor; the index checks the cursor further.
func parseArtistSearchParams(q url.Values) (search.ArtistQuery, error) {
	limit, err := limitParam(q)
	if err != nil {
		return search.ArtistQuery{}, err
	}
	text := q.Get("q")
	if strings.TrimSpace(text) == "" {
		return search.ArtistQuery{}, invalidRequest("q is required")
	}
	if len(text) > maxSearchBytes {
		return search.ArtistQuery{}, invalidRequest("q is longer than %d bytes", maxSearchBytes)
	}
	return search.ArtistQuery{Text: text, Limit: limit, Cursor: q.Get("cursor")}, nil
}

// searchArtists: app.relay.actor.searchArtists. The hits are hydrated from
// the store in one query for the page (Store.Artists), so handle and track
// count are the store's, and an artist hidden since the index last applied
// is left out, never shown.
func (s *Server) searchArtists(ctx context.Context, r *http.Request) (any, error) {
	p, err := parseArtistSearchParams(r.URL.Query())
	if err != nil {
		return nil, err
	}
	idx, ok := s.index.(ArtistSearcher)
	if !ok {
		return nil, &xrpcError{Status: http.StatusNotImplemented, Name: "MethodNotImplemented", Message: "this index does not search artists"}
	}
	res, err := idx.SearchArtists(ctx, p)
	if err != nil {
		return nil, searchError(err)
	}
	views := make([]ArtistView, 0, len(res.DIDs))
	if len(res.DIDs) > 0 {
		as, err := s.store.Artists(ctx, res.DIDs)
		if err != nil {
			return nil, err
		}
		known := make(map[syntax.DID]relay.Artist, len(as))
		for _, a := range as {
			known[a.DID] = a
		}
		for _, d := range res.DIDs {
			if a, ok := known[d]; ok {
				views = append(views, artistView(a))
			}
		}
	}
	return struct {
		Cursor  string       `json:"cursor,omitempty"`
		Artists []ArtistView `json:"artists"`
	}{Cursor: res.Cursor, Artists: views}, nil
}
