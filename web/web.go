package web

import (
	"context"
	"embed"
	"html/template"
	"log/slog"
	"net/http"
	"strings"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay/appview"
)

// Views is what the pages render from: the appview's own hydrated views
// (*appview.Server implements it, appview/pages.go), so visibility and the
// media URL rule are the appview's, not re-derived here.
type Views interface {
	DiscoveryFeed(ctx context.Context, cursor string, limit int) (appview.FeedPage, error)
	ArtistFeed(ctx context.Context, did syntax.DID, cursor string, limit int) (appview.FeedPage, error)
	Artist(ctx context.Context, actor string) (appview.ArtistViewDetailed, error)
	Track(ctx context.Context, did syntax.DID, rkey syntax.RecordKey) (appview.TrackView, error)
}

// Sessions tells who a page is for (*auth.Service implements it); an error
// is nobody logged in.
type Sessions interface {
	Viewer(r *http.Request) (did syntax.DID, handle string, err error)
}

// Config configures a Handler.
type Config struct {
	Views Views
	// Sessions, when set, turns on /publish: logging in, the upload form
	// and the user's own tracks (the endpoints are auth's and publish's);
	// nil: /publish says this instance takes no uploads.
	Sessions Sessions
	// MaxUploadBytes is shown on the upload form and checked there before
	// a file is sent (publish enforces it).
	MaxUploadBytes int64
	// PublicURL is the service's public origin (--public-url), used for
	// the absolute URLs of share tags and oEmbed; "": each request's own
	// host.
	PublicURL string
	Log       *slog.Logger
}

// Handler serves the web UI.
type Handler struct {
	views     Views
	sessions  Sessions
	maxUpload int64
	publicURL string
	log       *slog.Logger
	mux       *http.ServeMux
}

//go:embed templates/*.html
var templateFS embed.FS

// pages are the parsed templates, one set per page (each page fills the
// layout's blocks its own way). Parsed at start: a broken template is a
// bug of the build, so it panics there, never at a request.
var pages = parsePages("feed", "artist", "track", "embed", "notfound", "publish")

func parsePages(names ...string) map[string]*template.Template {
	base := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/item.html"))
	out := map[string]*template.Template{}
	for _, n := range names {
		if n == "embed" {
			out[n] = template.Must(template.New("embed.html").Funcs(funcs).ParseFS(templateFS, "templates/embed.html"))
			continue
		}
		out[n] = template.Must(template.Must(base.Clone()).ParseFS(templateFS, "templates/"+n+".html"))
	}
	return out
}

// New returns the web UI's handler.
func New(cfg Config) *Handler {
	h := &Handler{views: cfg.Views, sessions: cfg.Sessions, maxUpload: cfg.MaxUploadBytes, publicURL: strings.TrimSuffix(cfg.PublicURL, "/"), log: cfg.Log, mux: http.NewServeMux()}
	if h.log == nil {
		h.log = slog.Default()
	}
	h.mux.HandleFunc("GET /{$}", h.feed)
	h.mux.HandleFunc("GET /artist/{actor}", h.artist)
	h.mux.HandleFunc("GET /track/{did}/{rkey}", h.track)
	h.mux.HandleFunc("GET /embed/track/{did}/{rkey}", h.embed)
	h.mux.HandleFunc("GET /oembed", h.oembed)
	h.mux.HandleFunc("GET /publish", h.publish)
	h.mux.HandleFunc("GET /static/{name}", serveAsset)
	h.mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		h.notFound(w, r, "nothing here")
	})
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	})
	return h
}

// ServeHTTP implements http.Handler: the security headers, then the page.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w.Header(), policyOf(r.URL.Path))
	h.mux.ServeHTTP(w, r)
}

// origin is the service's origin as links to it are shared: --public-url,
// or the host the request came to (over TLS or not, as it came).
func (h *Handler) origin(r *http.Request) string {
	if h.publicURL != "" {
		return h.publicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
