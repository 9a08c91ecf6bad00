package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/urfave/cli/v2"
	"golang.org/x/sync/errgroup"

	"github.com/relaymusic/relay/appview"
	"github.com/relaymusic/relay/audiocheck"
	"github.com/relaymusic/relay/backfill"
	"github.com/relaymusic/relay/datadir"
	"github.com/relaymusic/relay/handles"
	"github.com/relaymusic/relay/indexer"
	"github.com/relaymusic/relay/outbound"
	"github.com/relaymusic/relay/plays"
	"github.com/relaymusic/relay/publish"
	"github.com/relaymusic/relay/search"
	"github.com/relaymusic/relay/sqlite"
	"github.com/relaymusic/relay/validate"
	"github.com/relaymusic/relay/web"
)

var serveCommand = &cli.Command{
	Name:  "serve",
	Usage: "consume jetstream into SQLite and the search index, and serve the XRPC appview",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "listen", Value: ":8080", Usage: "HTTP listen address", EnvVars: []string{"RELAY_LISTEN"}},
		&cli.IntFlag{Name: "http-max-in-flight", Value: 256, Usage: "HTTP requests served at once; past it, 503 at once", EnvVars: []string{"RELAY_HTTP_MAX_IN_FLIGHT"}},
		dataDirFlag,
		&cli.StringSliceFlag{
			Name:    "jetstream-url",
			Value:   cli.NewStringSlice(indexer.DefaultJetstreamHosts...),
			Usage:   "jetstream /subscribe URLs, tried in turn (repeatable or comma-separated)",
			EnvVars: []string{"RELAY_JETSTREAM_URL"},
		},
		&cli.Int64Flag{Name: "jetstream-cursor", Usage: "where to start when no cursor is stored yet (unix microseconds; 0: the live tip, and relay backfill brings the past)", EnvVars: []string{"RELAY_JETSTREAM_CURSOR"}},
		&cli.DurationFlag{Name: "jetstream-retention", Value: 36 * time.Hour, Usage: "how far back the upstream keeps events; an older stored cursor means events were missed", EnvVars: []string{"RELAY_JETSTREAM_RETENTION"}},
		&cli.StringFlag{Name: "pprof-listen", Usage: "if set, serve Go's pprof profiles on this address (keep it on loopback)", EnvVars: []string{"RELAY_PPROF_LISTEN"}},
		&cli.DurationFlag{Name: "index-poll", Value: time.Second, Usage: "how often the search index polls the outbox for changes written by other processes", EnvVars: []string{"RELAY_INDEX_POLL"}},
		&cli.StringFlag{Name: "service-did", Usage: "the service's did:web (of --public-url's host), served at /.well-known/did.json", EnvVars: []string{"RELAY_SERVICE_DID"}},
		publicURLFlag,
		&cli.StringSliceFlag{Name: "trusted-proxy", Usage: "CIDR ranges of reverse proxies whose X-Forwarded-For names a play's client (repeatable or comma-separated; default none)", EnvVars: []string{"RELAY_TRUSTED_PROXY"}},
		&cli.BoolFlag{Name: "resolve-handles", Value: true, Usage: "look up, in the background through --plc-url, the handles of artists whose identity events came before their first track", EnvVars: []string{"RELAY_RESOLVE_HANDLES"}},
		&cli.BoolFlag{Name: "check-audio", Value: true, Usage: "check in the background that each track's audioUrl answers; audio gone (404/410 twice, minutes apart) leaves the feeds and search until it answers again", EnvVars: []string{"RELAY_CHECK_AUDIO"}},
		&cli.IntFlag{Name: "audio-check-concurrency", Value: 8, Usage: "audio checks in flight at once (at most 2 per host)", EnvVars: []string{"RELAY_AUDIO_CHECK_CONCURRENCY"}},
	},
	Action: runServe,
}

func init() {
	serveCommand.Flags = append(serveCommand.Flags,
		&cli.BoolFlag{Name: "backfill", Usage: "run a backfill in the background at start (see relay backfill for its flags)", EnvVars: []string{"RELAY_BACKFILL"}})
	serveCommand.Flags = append(serveCommand.Flags, backfillFlags...)
	serveCommand.Flags = append(serveCommand.Flags, storageFlags...)
	serveCommand.Flags = append(serveCommand.Flags, publishFlags...)
}

func runServe(c *cli.Context) error {
	ctx := c.Context
	log := slog.Default()
	dataDir := c.String("data-dir")
	identity, err := appview.NewServiceIdentity(c.String("service-did"), c.String("public-url"))
	if err != nil {
		return err
	}
	// Media under the instance's own origin (local-disk storage) is valid
	// besides https: NewServiceIdentity has checked the URL's shape.
	if err := validate.TrustOrigin(c.String("public-url")); err != nil {
		return err
	}

	proxies, err := plays.ParseProxies(c.StringSlice("trusted-proxy"))
	if err != nil {
		return err
	}

	dd, err := datadir.Serving(ctx, dataDir)
	if err != nil {
		return err
	}
	defer dd.Close()
	store, idx := dd.Store, dd.Index
	// Every package's series from the first scrape, whether its part runs
	// or not, so a dashboard tells zero from missing.
	handleMetrics := handles.NewMetrics(dd.Registry)
	backfillMetrics := backfill.NewMetrics(dd.Registry)
	audioMetrics := audiocheck.NewMetrics(dd.Registry)

	// wake tells the index follower that this process committed something.
	wake := make(chan struct{}, 1)
	notify := func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	ingest := indexer.New(indexer.Config{
		Store:       store,
		Subscriber:  indexer.SubscriberConfig{Hosts: c.StringSlice("jetstream-url")},
		Retention:   c.Duration("jetstream-retention"),
		StartCursor: c.Int64("jetstream-cursor"),
		Log:         log,
		Committed:   notify,
		Metrics:     indexer.NewMetrics(dd.Registry),
	})

	// Plays are counted in memory and written every few seconds, so /play
	// never waits on SQLite.
	counter := plays.NewCounter(plays.Config{Store: store, Log: log, Metrics: plays.NewMetrics(dd.Registry)})

	ln, err := net.Listen("tcp", c.String("listen"))
	if err != nil {
		return fmt.Errorf("listening on %s: %w", c.String("listen"), err)
	}
	// Uploaded media, served under the listener's origin by default.
	mediaStore, err := openMediaStore(ctx, c, dataDir, ln, log)
	if err != nil {
		return err
	}
	// Logins and publishing: uploads to mediaStore, records to users' PDSes.
	pubs, err := newPublishing(ctx, c, dataDir, store, mediaStore, ln, notify, publish.NewMetrics(dd.Registry), log)
	if err != nil {
		return err
	}
	// The appview builds its own http.Server: its timeouts, header bound and
	// in-flight bound are part of what it guarantees (appview.Limits).
	srv := appview.New(appview.Config{
		Store:   store,
		Index:   idx,
		Version: versionString(),
		Log:     log,
		Health: func(ctx context.Context) appview.Health {
			return health(ctx, ingest, idx, store)
		},
		Limits:         appview.Limits{MaxInFlight: c.Int("http-max-in-flight")},
		Media:          mediaStore.Handler(),
		Routes:         pubs.routes,
		Metrics:        appview.NewMetrics(dd.Registry),
		Gatherer:       dd.Registry,
		Identity:       identity,
		Plays:          counter,
		TrustedProxies: proxies,
		// The web UI at /, rendered from the appview's own views.
		Pages: func(views *appview.Server) http.Handler {
			return web.New(web.Config{
				Views: views, Sessions: pubs.auth, MaxUploadBytes: c.Int64("max-upload-mb") << 20,
				PublicURL: c.String("public-url"), Log: log,
			})
		},
	}).HTTPServer()
	log.Info("relay serving", "addr", ln.Addr().String(), "data_dir", dataDir, "version", versionString())

	if addr := c.String("pprof-listen"); addr != "" {
		go servePprof(addr, log)
	}

	g, gctx := errgroup.WithContext(ctx)
	if c.Bool("backfill") {
		cfg, err := backfillConfig(c, store)
		if err != nil {
			return err
		}
		cfg.Committed = notify
		cfg.Metrics = backfillMetrics
		// In the group: the store must outlive it.
		g.Go(func() error {
			runBackfillInBackground(gctx, cfg)
			return nil
		})
	}
	g.Go(func() error { return ingest.Run(gctx) })
	g.Go(func() error { return counter.Run(gctx) })
	g.Go(func() error { return pubs.run(gctx, log) })
	if c.Bool("resolve-handles") {
		resolver, err := handleResolver(c, store, handleMetrics, log)
		if err != nil {
			return err
		}
		g.Go(func() error { resolver.Run(gctx); return nil })
	}
	var outbox search.Outbox = store
	if c.Bool("check-audio") {
		checker, err := audioChecker(c, store, audioMetrics, log)
		if err != nil {
			return err
		}
		// The index must not prune changed audio URLs the checker has not read.
		outbox = heldOutbox{store, checker.Prunable}
		g.Go(func() error { checker.Run(gctx); return nil })
	}
	g.Go(func() error {
		if err := idx.Follow(gctx, outbox, c.Duration("index-poll"), wake); !errors.Is(err, context.Canceled) {
			return err
		}
		return nil
	})
	g.Go(func() error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("http server: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		err := srv.Shutdown(shutdownCtx)
		// And the plays counted while the server drained.
		return errors.Join(err, counter.Flush(shutdownCtx))
	})
	err = g.Wait()
	log.Info("relay stopped")
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// handleResolver looks artists' handles up through indigo's directory, in
// its cache, over outbound's client: a handle's well-known host and a did:web
// host are named by anyone; the PLC directory is the operator's.
func handleResolver(c *cli.Context, store *sqlite.Store, m *handles.Metrics, log *slog.Logger) (*handles.Resolver, error) {
	client, err := directoryClient(c, 10*time.Second)
	if err != nil {
		return nil, err
	}
	base := &identity.BaseDirectory{
		PLCURL:                c.String("plc-url"),
		HTTPClient:            *client,
		TryAuthoritativeDNS:   true,
		SkipDNSDomainSuffixes: []string{".bsky.social"},
		UserAgent:             "relay/" + versionString(),
		// A declared handle that is trusted anyway needs no lookup (and a
		// local network's .test handles would fail the whole lookup).
		SkipHandleVerification: c.Bool("trust-declared-handles"),
	}
	// Errors are cached briefly: the resolver's own backoff decides retries.
	dir := identity.NewCacheDirectory(base, 100_000, 24*time.Hour, time.Minute, 5*time.Minute)
	return handles.New(handles.Config{
		Store:         store,
		Directory:     dir,
		TrustDeclared: c.Bool("trust-declared-handles"),
		Log:           log,
		Metrics:       m,
	}), nil
}

// audioChecker checks tracks' audio over outbound's client: an audioUrl is
// named by anyone. Media under the instance's own --public-url is the
// operator's. No body cap: a HEAD declares the whole file's size, and the
// checker reads a few bytes at most.
func audioChecker(c *cli.Context, store *sqlite.Store, m *audiocheck.Metrics, log *slog.Logger) (*audiocheck.Checker, error) {
	var trusted []string
	if u := c.String("public-url"); u != "" {
		trusted = append(trusted, u)
	}
	client, err := outbound.New(outbound.Options{
		AllowPrivateNetwork: c.Bool("allow-private-network"),
		Trusted:             trusted,
		Timeout:             15 * time.Second,
		MaxBody:             math.MaxInt64,
		UserAgent:           "relay/" + versionString() + " (audio check)",
	})
	if err != nil {
		return nil, fmt.Errorf("--public-url: %w", err)
	}
	return audiocheck.New(audiocheck.Config{
		Store:       store,
		Client:      client,
		Concurrency: c.Int("audio-check-concurrency"),
		Log:         log,
		Metrics:     m,
	}), nil
}

// heldOutbox is the store as the search index follows it, pruned no
// further than limit allows (the audio checker's cursor).
type heldOutbox struct {
	*sqlite.Store
	limit func(ctx context.Context, seq int64) (int64, error)
}

func (h heldOutbox) PruneOutbox(ctx context.Context, seq int64) error {
	seq, err := h.limit(ctx, seq)
	if err != nil {
		return err
	}
	return h.Store.PruneOutbox(ctx, seq)
}

func health(ctx context.Context, ingest *indexer.Indexer, idx *search.Index, store *sqlite.Store) appview.Health {
	st := ingest.Status()
	h := appview.Health{Ingest: appview.IngestHealth{Host: st.Host, Connected: st.Connected, Cursor: st.Cursor}}
	if st.Cursor > 0 {
		h.Ingest.CursorAgeSeconds = time.Since(time.UnixMicro(st.Cursor)).Seconds()
	}
	if st.Warning != "" {
		h.Warnings = append(h.Warnings, st.Warning)
	}
	h.Index.AppliedSeq, _ = idx.AppliedSeq()
	h.Index.OutboxSeq, _ = store.OutboxSeq(ctx)
	return h
}

// servePprof serves net/http/pprof's handlers, on their own listener so they
// are never exposed with the public API.
func servePprof(addr string, log *slog.Logger) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	log.Info("pprof serving", "addr", addr)
	if err := http.ListenAndServe(addr, mux); err != nil {
		log.Error("pprof server failed", "err", err)
	}
}
