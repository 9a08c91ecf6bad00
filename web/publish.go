package web

import (
	"errors"
	"net/http"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay/appview"
)

// minePageSize is how many of the user's own tracks /publish lists at a
// time.
const minePageSize = 50

// publishPage is what /publish shows: the login forms, or the upload form
// and the user's own tracks.
type publishPage struct {
	Enabled        bool // the instance takes uploads (Config.Sessions)
	DID, Handle    string
	ArtistHref     string
	MaxUploadBytes int64
	MaxUploadMB    int64
	Error          string // a failed login, in the page's own words
	Published      *item  // the track just published (?published=rkey)
	Mine           []item
}

// loginErrors are the page's words for the codes auth sends a failed login
// back with (auth.Login*). The URL carries a code, never the text: a link
// anyone can write must not put words on this page.
var loginErrors = map[string]string{
	"invalid":     "enter your handle (like alice.bsky.social) or your did",
	"credentials": "your server refused that identifier or app password",
	"unreachable": "your server did not answer; try again in a moment",
	"oauth":       "could not start the login with your server; check the handle, or log in with an app password",
	"callback":    "the login did not complete; try again",
	"cross-site":  "log in from this page",
	"failed":      "the login could not be completed; try again in a moment",
}

// publish is the page of the instance's own users: log in, upload, and
// the tracks they published, each with delete. The script sends the
// upload to POST /tracks with its progress and deletes through DELETE
// /tracks/{rkey}; both are publish's, behind the same login cookie.
func (h *Handler) publish(w http.ResponseWriter, r *http.Request) {
	p := &publishPage{Enabled: h.sessions != nil, MaxUploadBytes: h.maxUpload, MaxUploadMB: h.maxUpload >> 20}
	d := &data{Title: "publish · relay", Publish: p, Canonical: h.origin(r) + "/publish"}
	// The page differs per visitor: never cached, never shared.
	w.Header().Set("Cache-Control", "no-store")
	if !p.Enabled {
		h.render(w, r, http.StatusOK, "publish", d)
		return
	}
	did, handle, err := h.sessions.Viewer(r)
	if err != nil {
		p.Error = loginErrors[r.URL.Query().Get("error")]
		h.render(w, r, http.StatusOK, "publish", d)
		return
	}
	p.DID, p.Handle, p.ArtistHref = did.String(), handle, artistPath(did.String(), handle)
	if rk, err := syntax.ParseRecordKey(r.URL.Query().Get("published")); err == nil {
		if v, err := h.views.Track(r.Context(), did, rk); err == nil {
			it := newItem(v, timeNow())
			p.Published = &it
		}
	}
	cursor := r.URL.Query().Get("cursor")
	mine, err := h.views.ArtistFeed(r.Context(), did, cursor, minePageSize)
	if err != nil && !errors.Is(err, appview.ErrNotFound) {
		h.fail(w, r, err)
		return
	}
	p.Mine = items(mine.Tracks, timeNow())
	if mine.Cursor != "" {
		d.More = "/publish?cursor=" + queryEscape(mine.Cursor)
	}
	h.render(w, r, http.StatusOK, "publish", d)
}
