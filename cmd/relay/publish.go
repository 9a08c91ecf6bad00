package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/urfave/cli/v2"
	"golang.org/x/sync/errgroup"

	"github.com/relaymusic/relay/auth"
	"github.com/relaymusic/relay/outbound"
	"github.com/relaymusic/relay/publish"
	"github.com/relaymusic/relay/sqlite"
	"github.com/relaymusic/relay/storage"
)

// publishFlags bound what the instance's own users may upload.
var publishFlags = []cli.Flag{
	&cli.Int64Flag{Name: "max-upload-mb", Value: 100, Usage: "largest audio file taken by POST /tracks, in MiB (past it: 413)", EnvVars: []string{"RELAY_MAX_UPLOAD_MB"}},
	&cli.IntFlag{Name: "uploads-per-hour", Value: 10, Usage: "uploads one user may publish in an hour (past it: 429 with Retry-After)", EnvVars: []string{"RELAY_UPLOADS_PER_HOUR"}},
	&cli.Int64Flag{Name: "upload-mb-per-hour", Value: 100, Usage: "MiB of audio and artwork one user may publish in an hour", EnvVars: []string{"RELAY_UPLOAD_MB_PER_HOUR"}},
}

// publishing is the login and publish side of serve.
type publishing struct {
	auth *auth.Service
	pub  *publish.Publisher
}

// routes registers the login and publish endpoints.
func (p *publishing) routes(mux *http.ServeMux) {
	p.auth.Register(mux)
	p.pub.Register(mux)
}

// run prunes logins and sweeps orphaned uploads (at start, then hourly)
// until ctx ends.
// Both end before run returns, so neither touches the store once serve
// closes it.
func (p *publishing) run(ctx context.Context, log *slog.Logger) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return p.auth.Prune(ctx, time.Hour) })
	g.Go(func() error {
		t := time.NewTicker(time.Hour)
		defer t.Stop()
		for {
			if _, err := p.pub.Sweep(ctx, time.Hour); err != nil {
				log.Warn("publish: sweeping the journal", "error", err)
			}
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
			}
		}
	})
	return g.Wait()
}

// newPublishing wires auth and publish: PDSes are reached through the
// outbound client (named by DID documents: untrusted; private addresses
// only with --allow-private-network), found through indigo's directory;
// the OAuth client is at --public-url, or the listener's loopback origin.
func newPublishing(ctx context.Context, c *cli.Context, dataDir string, store *sqlite.Store, media storage.Store, ln net.Listener, committed func(), m *publish.Metrics, log *slog.Logger) (*publishing, error) {
	dirClient, err := directoryClient(c, 10*time.Second)
	if err != nil {
		return nil, err
	}
	dir := identity.NewCacheDirectory(&identity.BaseDirectory{
		PLCURL:                 c.String("plc-url"),
		HTTPClient:             *dirClient,
		TryAuthoritativeDNS:    true,
		SkipDNSDomainSuffixes:  []string{".bsky.social"},
		UserAgent:              "relay/" + versionString(),
		SkipHandleVerification: c.Bool("trust-declared-handles"),
	}, 10_000, time.Hour, time.Minute, 5*time.Minute)
	pds, err := outbound.New(outbound.Options{
		AllowPrivateNetwork: c.Bool("allow-private-network"),
		Timeout:             30 * time.Second,
		MaxBody:             1 << 20, // PDS answers to logins and record writes
		UserAgent:           "relay/" + versionString(),
	})
	if err != nil {
		return nil, fmt.Errorf("publish: the PDS client: %w", err)
	}
	origin := c.String("public-url")
	if origin == "" {
		port := 0
		if a, ok := ln.Addr().(*net.TCPAddr); ok {
			port = a.Port
		}
		origin = fmt.Sprintf("http://127.0.0.1:%d", port)
	}
	app, err := auth.NewOAuthApp(origin, store.OAuthStore(), dir, pds)
	if err != nil {
		return nil, err
	}
	svc := auth.New(auth.Config{
		Store: store, Directory: dir, HTTPClient: pds, PublicURL: origin, Page: "/publish",
		TrustDeclaredHandles: c.Bool("trust-declared-handles"), OAuth: app, Log: log,
	})
	pub, err := publish.New(publish.Config{
		Auth: svc, Store: store, Ledger: store, Media: media,
		SpoolDir:       filepath.Join(dataDir, "spool"),
		Journal:        filepath.Join(dataDir, "publish-journal"),
		MaxUploadBytes: c.Int64("max-upload-mb") << 20,
		Limits:         publish.Limits{Uploads: c.Int("uploads-per-hour"), Bytes: c.Int64("upload-mb-per-hour") << 20, Window: time.Hour},
		Committed:      committed,
		Metrics:        m,
		Log:            log,
	})
	if err != nil {
		return nil, err
	}
	return &publishing{auth: svc, pub: pub}, nil
}
