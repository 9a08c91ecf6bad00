package web

import (
	"bytes"
	"errors"
	"net/http"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay/appview"
)

// pageSize is how many tracks a list shows at a time.
const pageSize = 30

// moreByArtist is how many of the artist's other tracks a track page lists.
const moreByArtist = 10

// artistPageSize is how many of an artist's tracks one page groups by album.
const artistPageSize = 100

// data is what every page template gets.
type data struct {
	Title string
	// Meta are the share tags (OpenGraph, Twitter); nil: none.
	Meta      *meta
	Canonical string
	OEmbed    string // the oEmbed discovery link, track pages only

	Items   []item
	MoreBy  []item // track pages: the artist's other tracks
	More    string // the next page's path, "" on the last
	Cursor  string // the next page's cursor, for the script
	Tab     string
	Artist  *artistPage
	Track   *item
	Message string // notfound: what was not found
	Publish *publishPage
}

type meta struct {
	Type, Title, Description, URL, Image string
	Audio, AudioType                     string
	Musician                             string
	Duration                             string
	TwitterCard, Player                  string
	PlayerWidth, PlayerHeight            int
}

type artistPage struct {
	Name, Handle, DID string
	TrackCount        int64
	Image             string
	Albums            []albumGroup
}

type albumGroup struct {
	Name  string // "" for tracks on no album
	Image string
	Items []item
}

func (h *Handler) feed(w http.ResponseWriter, r *http.Request) {
	cursor := r.URL.Query().Get("cursor")
	p, err := h.views.DiscoveryFeed(r.Context(), cursor, pageSize)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d := &data{Title: "relay", Items: items(p.Tracks, timeNow()), Cursor: p.Cursor, Tab: "new", Canonical: h.origin(r) + "/"}
	if p.Cursor != "" {
		d.More = "/?cursor=" + p.Cursor
	}
	h.render(w, r, http.StatusOK, "feed", d)
}

func (h *Handler) artist(w http.ResponseWriter, r *http.Request) {
	a, err := h.views.Artist(r.Context(), r.PathValue("actor"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	did, err := syntax.ParseDID(a.DID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	cursor := r.URL.Query().Get("cursor")
	p, err := h.views.ArtistFeed(r.Context(), did, cursor, artistPageSize)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	its := items(p.Tracks, timeNow())
	ap := &artistPage{Handle: a.Handle, DID: a.DID, TrackCount: a.TrackCount, Albums: groupByAlbum(its, a.Albums)}
	ap.Name = artistName(a, its)
	for _, g := range ap.Albums {
		if g.Image != "" {
			ap.Image = g.Image
			break
		}
	}
	self := h.origin(r) + artistPath(a.DID, a.Handle)
	d := &data{Title: ap.Name + " · relay", Artist: ap, Items: its, Canonical: self, Meta: &meta{
		Type: "profile", Title: ap.Name, URL: self, Image: ap.Image, TwitterCard: "summary",
		Description: plural(a.TrackCount, "track") + " on relay",
	}}
	if p.Cursor != "" {
		d.More = artistPath(a.DID, a.Handle) + "?cursor=" + p.Cursor
	}
	h.render(w, r, http.StatusOK, "artist", d)
}

// artistName is what the artist page is titled: the handle, else the name
// the newest track credits, else the DID.
func artistName(a appview.ArtistViewDetailed, its []item) string {
	switch {
	case a.DisplayName != "":
		return a.DisplayName
	case a.Handle != "":
		return a.Handle
	case len(its) > 0 && its[0].Artist != "":
		return its[0].Artist
	}
	return a.DID
}

// groupByAlbum groups tracks (newest first) by album, albums in the order
// of their newest track, tracks on no album last.
func groupByAlbum(its []item, albums []appview.AlbumView) []albumGroup {
	art := map[string]string{}
	for _, al := range albums {
		art[al.Name] = mediaURL(al.ImageURL)
	}
	var out []albumGroup
	at := map[string]int{}
	var loose []item
	for _, it := range its {
		if it.Album == "" {
			loose = append(loose, it)
			continue
		}
		i, ok := at[it.Album]
		if !ok {
			i = len(out)
			at[it.Album] = i
			img := art[it.Album]
			if img == "" {
				img = it.Image
			}
			out = append(out, albumGroup{Name: it.Album, Image: img})
		}
		out[i].Items = append(out[i].Items, it)
	}
	if len(loose) > 0 {
		out = append(out, albumGroup{Items: loose})
	}
	return out
}

func (h *Handler) trackParams(w http.ResponseWriter, r *http.Request) (appview.TrackView, bool) {
	did, err := syntax.ParseDID(r.PathValue("did"))
	if err != nil {
		h.notFound(w, r, "no such track")
		return appview.TrackView{}, false
	}
	rkey, err := syntax.ParseRecordKey(r.PathValue("rkey"))
	if err != nil {
		h.notFound(w, r, "no such track")
		return appview.TrackView{}, false
	}
	v, err := h.views.Track(r.Context(), did, rkey)
	if err != nil {
		h.fail(w, r, err)
		return appview.TrackView{}, false
	}
	return v, true
}

func (h *Handler) track(w http.ResponseWriter, r *http.Request) {
	v, ok := h.trackParams(w, r)
	if !ok {
		return
	}
	it := newItem(v, timeNow())
	origin := h.origin(r)
	self := origin + it.Href
	desc := it.Artist
	if it.Album != "" {
		desc += " · " + it.Album
	}
	m := &meta{
		Type: "music.song", Title: it.Title, Description: desc, URL: self, Image: it.Image,
		Audio: it.Audio, AudioType: audioType(it.FileType), Musician: origin + it.ArtistHref,
		TwitterCard: "player", Player: origin + it.Embed, PlayerWidth: embedWidth, PlayerHeight: embedHeight,
	}
	if v.Duration != nil {
		m.Duration = itoa(*v.Duration)
	}
	d := &data{
		Title: it.Title + " · " + it.Artist + " · relay", Meta: m, Track: &it, Items: []item{it}, Canonical: self,
		OEmbed: origin + "/oembed?format=json&url=" + queryEscape(self),
	}
	// More by the same account; the page stands without them.
	if more, err := h.views.ArtistFeed(r.Context(), syntax.DID(v.DID), "", moreByArtist+1); err != nil {
		h.log.WarnContext(r.Context(), "track page: the artist's other tracks", "err", err)
	} else {
		for _, o := range items(more.Tracks, timeNow()) {
			if o.RKey != it.RKey && len(d.MoreBy) < moreByArtist {
				d.MoreBy = append(d.MoreBy, o)
			}
		}
	}
	h.render(w, r, http.StatusOK, "track", d)
}

func (h *Handler) embed(w http.ResponseWriter, r *http.Request) {
	v, ok := h.trackParams(w, r)
	if !ok {
		return
	}
	it := newItem(v, timeNow())
	h.render(w, r, http.StatusOK, "embed", &data{Title: it.Title + " · " + it.Artist, Track: &it, Canonical: h.origin(r) + it.Href})
}

func (h *Handler) notFound(w http.ResponseWriter, r *http.Request, msg string) {
	h.render(w, r, http.StatusNotFound, "notfound", &data{Title: "not found · relay", Message: msg})
}

// fail answers a page method's error: not found is the 404 page, a bad
// cursor a 400, anything else logged and a 500.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, appview.ErrNotFound):
		msg := "not found"
		if r.PathValue("actor") != "" {
			msg = "no such artist"
		} else if r.PathValue("rkey") != "" {
			msg = "no such track"
		}
		h.notFound(w, r, msg)
	case errors.Is(err, appview.ErrInvalid):
		h.render(w, r, http.StatusBadRequest, "notfound", &data{Title: "bad request · relay", Message: "that link is not one relay made"})
	case r.Context().Err() != nil:
		// The client left: nobody to answer.
	default:
		h.log.ErrorContext(r.Context(), "web page failed", "path", r.URL.Path, "err", err)
		h.render(w, r, http.StatusInternalServerError, "notfound", &data{Title: "error · relay", Message: "something went wrong; try again in a moment"})
	}
}

// render executes a page into a buffer first, so a template error is a
// clean 500 rather than half a page.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, page string, d *data) {
	var buf bytes.Buffer
	if err := pages[page].Execute(&buf, d); err != nil {
		h.log.ErrorContext(r.Context(), "rendering page", "page", page, "err", err)
		http.Error(w, "something went wrong", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	// Pages show the catalogue as it is now; only the static files are
	// kept. A page that set its own (publish's no-store) keeps it.
	if w.Header().Get("Cache-Control") == "" {
		w.Header().Set("Cache-Control", "no-cache")
	}
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// audioType is the MIME type of a record's fileType, for og:audio:type.
func audioType(fileType string) string {
	switch fileType {
	case "mp3":
		return "audio/mpeg"
	case "wav":
		return "audio/wav"
	case "ogg":
		return "audio/ogg"
	case "flac":
		return "audio/flac"
	case "m4a":
		return "audio/mp4"
	}
	return ""
}
