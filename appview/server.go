package appview

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/relaymusic/relay"
	"github.com/relaymusic/relay/plays"
	"github.com/relaymusic/relay/search"
)

// Store is what the appview reads from the store. Its contract, which
// storetest.Run checks of every backend:
//   - visibility: both methods return only visible tracks: not deleted, and
//     of an account not made inactive by an account event (a later
//     active=true shows them again; status "deleted" never does);
//   - a track is its at-uri: the key is (DID, Collection, RKey) throughout;
//   - Feed returns at most limit tracks newest first, by SortAt, then DID,
//     then Collection, then RKey, all descending, strictly after the key given (nil: from the
//     top). Keyset paging: a track that arrives while a client pages sorts
//     above its cursor, so pages never repeat or skip;
//   - Tracks returns the visible tracks among uris in the order asked, each
//     picked by its whole uri, collection included; unknown ones (of a
//     collection not indexed included), deleted and hidden ones, and uris
//     whose authority is not a DID, are left out, which is no error;
//   - ArtistFeed is Feed within one artist's tracks (and one album of
//     them when album is not empty);
//   - Artists returns, among dids, the accounts with visible tracks, with
//     handle and visible track count, in one round trip however many asked;
//     ArtistByHandle finds one by its stored handle, case aside (nil: none);
//   - ResolveHandle is the DID of the account with a stored handle, case
//     aside, without counting its tracks (false: none);
//   - Albums returns up to limit album names of an artist's visible tracks,
//     most recent first, with counts and an artwork URL of one of them;
//   - a StoredTrack carries every field of the track as applied (its Record
//     the same JSON value) and the handle of the artist's last identity
//     event that had one;
//   - Trending returns visible tracks with plays in the hours [since,
//     until), their plays summed, by plays then feed key, both descending,
//     strictly after the key given (plays.go).
type Store interface {
	Feed(ctx context.Context, after *relay.FeedKey, limit int) ([]*relay.StoredTrack, error)
	Tracks(ctx context.Context, uris []syntax.ATURI) ([]*relay.StoredTrack, error)
	ArtistFeed(ctx context.Context, did syntax.DID, album string, after *relay.FeedKey, limit int) ([]*relay.StoredTrack, error)
	Artists(ctx context.Context, dids []syntax.DID) ([]relay.Artist, error)
	ArtistByHandle(ctx context.Context, handle syntax.Handle) (*relay.Artist, error)
	ResolveHandle(ctx context.Context, handle syntax.Handle) (syntax.DID, bool, error)
	Albums(ctx context.Context, did syntax.DID, limit int) ([]relay.Album, error)
	Trending(ctx context.Context, since, until int64, after *relay.TrendingKey, limit int) ([]*relay.TrendingTrack, error)
	// TrendingKeys is Trending's first limit positions, keys only (the
	// cached head of a ranking).
	TrendingKeys(ctx context.Context, since, until int64, limit int) ([]relay.TrendingKey, error)
}

// Searcher is what the appview asks of the search index.
type Searcher interface {
	Search(ctx context.Context, q search.Query) (search.Result, error)
}

// Health is the body of /xrpc/_health beyond the version.
type Health struct {
	Ingest   IngestHealth `json:"ingest"`
	Index    IndexHealth  `json:"index"`
	Warnings []string     `json:"warnings,omitempty"`
}

// IngestHealth is the jetstream consumer's state.
type IngestHealth struct {
	Host      string `json:"host,omitempty"`
	Connected bool   `json:"connected"`
	// Cursor is the time_us of the last committed event.
	Cursor int64 `json:"cursor,omitempty"`
	// CursorAgeSeconds is now minus Cursor.
	CursorAgeSeconds float64 `json:"cursorAgeSeconds,omitempty"`
}

// IndexHealth is the search index's distance from the store.
type IndexHealth struct {
	AppliedSeq int64 `json:"appliedSeq"`
	OutboxSeq  int64 `json:"outboxSeq"`
}

// Config configures a Server.
type Config struct {
	Store   Store
	Index   Searcher
	Version string
	// Health reports the service's state for /xrpc/_health.
	Health func(ctx context.Context) Health
	Log    *slog.Logger
	// FirstPageTTL is how long the feed's first page is served from cache
	// (default 1s; negative: never cached).
	FirstPageTTL time.Duration
	// Limits bound each client's hold on the server (see Limits).
	Limits Limits
	// Metrics are the request series (NewMetrics); nil: unregistered ones.
	Metrics *Metrics
	// Gatherer is what GET /metrics serves: the process's registry, so only
	// what relay registered there is exposed (nil: an empty scrape).
	Gatherer prometheus.Gatherer
	// Media serves GET /audio/ and /art/ (storage's Handler: local files,
	// or redirects to signed R2 URLs), counted as method "media"; nil:
	// not routed.
	Media http.Handler
	// Identity is what /.well-known/did.json serves (NewServiceIdentity);
	// nil: 404.
	Identity *ServiceIdentity
	// Plays counts GET /play (plays.Counter); nil: plays redirect uncounted.
	Plays PlayCounter
	// TrustedProxies are the peers whose X-Forwarded-For names the client
	// of a play (--trusted-proxy); zero: none.
	TrustedProxies plays.Proxies
	// Pages builds the handler of every path no other route takes (the
	// web UI, package web), given the server whose page methods (pages.go)
	// it renders from; it is served within the same limits and counted as
	// method "web". nil: / answers the plain-text help, which stays at
	// /xrpc/ either way.
	Pages func(*Server) http.Handler
	// Routes adds handlers served beside the appview's, within the same
	// limits (auth's login endpoints, publish's upload and delete); nil:
	// none.
	Routes func(*http.ServeMux)
}

// Server serves the appview's HTTP endpoints.
type Server struct {
	store   Store
	index   Searcher
	version string
	health  func(ctx context.Context) Health
	log     *slog.Logger
	mux     *http.ServeMux
	limits  Limits
	metrics *Metrics
	// identity is the service's did:web (nil: none).
	identity *ServiceIdentity
	// plays counts plays (nil: none); proxies find a play's client.
	plays   PlayCounter
	proxies plays.Proxies
	// inFlight holds a token per request being served (Limits.MaxInFlight).
	inFlight chan struct{}
	// queries are the registered query NSIDs, the only method labels.
	queries map[string]bool

	firstPage pageCache
	// records keeps served records between pages (recordcache.go).
	records *recordCache
	// trending is the head of each trending window's ranking, per hour.
	trending trendingCache
}

// New returns a Server.
func New(cfg Config) *Server {
	s := &Server{
		store: cfg.Store, index: cfg.Index, version: cfg.Version, health: cfg.Health, log: cfg.Log,
		mux: http.NewServeMux(), limits: cfg.Limits.withDefaults(), queries: map[string]bool{},
		metrics: cfg.Metrics, identity: cfg.Identity, plays: cfg.Plays, proxies: cfg.TrustedProxies,
	}
	if s.metrics == nil {
		s.metrics = NewMetrics(nil)
	}
	s.records = newRecordCache(recordCacheBytes, s.metrics)
	gatherer := cfg.Gatherer
	if gatherer == nil {
		gatherer = prometheus.NewRegistry()
	}
	s.inFlight = make(chan struct{}, s.limits.MaxInFlight)
	if s.log == nil {
		s.log = slog.Default()
	}
	s.firstPage.ttl = cfg.FirstPageTTL
	if s.firstPage.ttl == 0 {
		s.firstPage.ttl = time.Second
	}
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{}))
	s.mux.HandleFunc("GET /xrpc/_health", s.handleHealth)
	s.mux.HandleFunc("GET /.well-known/did.json", s.handleDIDDocument)
	if cfg.Media != nil {
		media := s.counted("media", cfg.Media)
		s.mux.Handle("GET /audio/", media)
		s.mux.Handle("GET /art/", media)
	}
	s.query("app.relay.feed.getDiscoveryFeed", s.getDiscoveryFeed)
	s.query("app.relay.feed.searchTracks", s.searchTracks)
	s.query("app.relay.feed.getTracks", s.getTracks)
	s.query("app.relay.feed.getArtistFeed", s.getArtistFeed)
	s.query("app.relay.actor.getArtist", s.getArtist)
	s.query("app.relay.feed.getTrending", s.getTrending)
	s.mux.Handle("GET /play/{did}/{rkey}", s.counted("play", http.HandlerFunc(s.handlePlay)))
	s.query("app.relay.actor.searchArtists", s.searchArtists)
	if cfg.Routes != nil {
		cfg.Routes(s.mux)
	}
	s.mux.HandleFunc("/xrpc/{method}", s.notImplemented)
	s.mux.HandleFunc("GET /xrpc/{$}", s.handleRoot)
	if cfg.Pages != nil {
		s.mux.Handle("/", s.counted("web", cfg.Pages(s)))
	} else {
		s.mux.HandleFunc("GET /{$}", s.handleRoot)
	}
	return s
}

// counted serves h, counting its answers under the method label given.
func (s *Server) counted(method string, h http.Handler) http.Handler {
	s.metrics.requests.WithLabelValues(method, "200")
	s.metrics.seconds.WithLabelValues(method)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		s.metrics.requests.WithLabelValues(method, strconv.Itoa(rec.status)).Inc()
		s.metrics.seconds.WithLabelValues(method).Observe(time.Since(start).Seconds())
	})
}

// query registers an XRPC query handler with metrics and error handling.
func (s *Server) query(nsid string, h func(ctx context.Context, r *http.Request) (any, error)) {
	// Series exist from the first scrape, so a dashboard tells zero from missing.
	s.metrics.requests.WithLabelValues(nsid, "200")
	s.metrics.seconds.WithLabelValues(nsid)
	s.queries[nsid] = true
	s.mux.HandleFunc("/xrpc/"+nsid, func(w http.ResponseWriter, r *http.Request) {
		s.metrics.requests.WithLabelValues(nsid, strconv.Itoa(http.StatusMethodNotAllowed)).Inc()
		w.Header().Set("Allow", "GET, HEAD")
		writeJSON(w, http.StatusMethodNotAllowed, &xrpcError{Name: "InvalidRequest", Message: nsid + " is a query: use GET"})
	})
	s.mux.HandleFunc("GET /xrpc/"+nsid, func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		out, err := h(r.Context(), r)
		status := http.StatusOK
		switch {
		case err != nil && r.Context().Err() != nil && errors.Is(err, context.Canceled):
			// The client went away: nobody to answer, nothing failed here.
			status = statusClientClosed
			s.log.DebugContext(r.Context(), "xrpc client went away", "method", nsid)
		case err != nil:
			rec := &statusRecorder{ResponseWriter: w}
			writeError(rec, r, s.log, err)
			status = rec.status
		default:
			writeJSON(w, status, out)
		}
		s.metrics.requests.WithLabelValues(nsid, strconv.Itoa(status)).Inc()
		s.metrics.seconds.WithLabelValues(nsid).Observe(time.Since(start).Seconds())
	})
}

// statusClientClosed is nginx's "client closed request", counted for a
// request whose client left before its answer: not a 5xx, since the
// server did not fail.
const statusClientClosed = 499

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	body := struct {
		Version string `json:"version"`
		Health
	}{Version: s.version}
	if s.health != nil {
		body.Health = s.health(r.Context())
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) notImplemented(w http.ResponseWriter, r *http.Request) {
	s.metrics.requests.WithLabelValues("other", strconv.Itoa(http.StatusNotImplemented)).Inc()
	writeJSON(w, http.StatusNotImplemented, &xrpcError{Name: "MethodNotImplemented", Message: "no such method: " + r.PathValue("method")})
}

func (s *Server) handleRoot(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	var b strings.Builder
	b.WriteString("relay discovery service " + s.version + "\n\n")
	b.WriteString("GET /xrpc/app.relay.feed.getDiscoveryFeed?limit=&cursor=\n")
	b.WriteString("GET /xrpc/app.relay.feed.searchTracks?q=&sort=top|latest&limit=&cursor=\n")
	b.WriteString("GET /xrpc/app.relay.feed.getTracks?uris=&uris=\n")
	b.WriteString("GET /xrpc/app.relay.feed.getArtistFeed?actor=&album=&limit=&cursor=\n")
	b.WriteString("GET /xrpc/app.relay.actor.getArtist?actor=\n")
	b.WriteString("GET /xrpc/app.relay.feed.getTrending?window=day|week|month&limit=&cursor=\n")
	b.WriteString("GET /play/{did}/{rkey}\n")
	b.WriteString("GET /xrpc/app.relay.actor.searchArtists?q=&limit=&cursor=\n")
	b.WriteString("GET /xrpc/_health\n")
	b.WriteString("GET /.well-known/did.json\n")
	b.WriteString("GET /metrics\n")
	_, _ = w.Write([]byte(b.String()))
}

func methodName(r *http.Request) string {
	return strings.TrimPrefix(r.URL.Path, "/xrpc/")
}
