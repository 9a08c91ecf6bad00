package web

import (
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/bluesky-social/indigo/atproto/syntax"
)

// The embeddable player's size, as oEmbed and twitter:player announce it.
const (
	embedWidth  = 480
	embedHeight = 152
)

// maxOEmbedURL bounds the url parameter: a track link is far shorter.
const maxOEmbedURL = 2048

// oembedAnswer is oEmbed 1.0's rich type.
type oembedAnswer struct {
	Version         string `json:"version"`
	Type            string `json:"type"`
	ProviderName    string `json:"provider_name"`
	ProviderURL     string `json:"provider_url"`
	Title           string `json:"title"`
	AuthorName      string `json:"author_name"`
	AuthorURL       string `json:"author_url"`
	HTML            string `json:"html"`
	Width           int    `json:"width"`
	Height          int    `json:"height"`
	ThumbnailURL    string `json:"thumbnail_url,omitempty"`
	ThumbnailWidth  int    `json:"thumbnail_width,omitempty"`
	ThumbnailHeight int    `json:"thumbnail_height,omitempty"`
}

// oembed answers GET /oembed?url=...&format=json for this service's track
// links: 404 for any other URL or an unknown track, 501 for a format
// other than json (oEmbed's answer for xml here).
func (h *Handler) oembed(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if f := q.Get("format"); f != "" && f != "json" {
		http.Error(w, "only format=json is served", http.StatusNotImplemented)
		return
	}
	origin := h.origin(r)
	did, rkey, ok := trackLink(q.Get("url"), origin)
	if !ok {
		http.Error(w, "not a track link of this service", http.StatusNotFound)
		return
	}
	v, err := h.views.Track(r.Context(), did, rkey)
	if err != nil {
		// Any failure to find it is a 404 here; real errors are logged.
		if r.Context().Err() == nil {
			h.log.DebugContext(r.Context(), "oembed track", "err", err)
		}
		http.Error(w, "no such track", http.StatusNotFound)
		return
	}
	it := newItem(v, timeNow())
	width, height := embedWidth, embedHeight
	if mw, err := strconv.Atoi(q.Get("maxwidth")); err == nil && mw > 0 && mw < width {
		width = mw
	}
	if mh, err := strconv.Atoi(q.Get("maxheight")); err == nil && mh > 0 && mh < height {
		height = mh
	}
	src := origin + it.Embed
	out := oembedAnswer{
		Version: "1.0", Type: "rich", ProviderName: "relay", ProviderURL: origin + "/",
		Title: it.Title, AuthorName: it.Artist, AuthorURL: origin + it.ArtistHref,
		Width: width, Height: height,
		// Escaped: a consumer pastes this into its page.
		HTML: fmt.Sprintf(`<iframe src="%s" width="%d" height="%d" title="%s" frameborder="0" allow="autoplay; encrypted-media" loading="lazy"></iframe>`,
			template.HTMLEscapeString(src), width, height, template.HTMLEscapeString(it.Title+" by "+it.Artist)),
	}
	if it.Image != "" {
		out.ThumbnailURL, out.ThumbnailWidth, out.ThumbnailHeight = it.Image, 512, 512
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(out)
}

// trackLink reads a link to a track page of this service (origin's host,
// http or https): /track/{did}/{rkey}.
func trackLink(raw, origin string) (syntax.DID, syntax.RecordKey, bool) {
	if raw == "" || len(raw) > maxOEmbedURL {
		return "", "", false
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.User != nil {
		return "", "", false
	}
	o, err := url.Parse(origin)
	if err != nil || !strings.EqualFold(u.Host, o.Host) {
		return "", "", false
	}
	parts := strings.Split(strings.TrimPrefix(u.Path, "/"), "/")
	if len(parts) != 3 || parts[0] != "track" {
		return "", "", false
	}
	did, err := syntax.ParseDID(parts[1])
	if err != nil {
		return "", "", false
	}
	rkey, err := syntax.ParseRecordKey(parts[2])
	if err != nil {
		return "", "", false
	}
	return did, rkey, true
}
