package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"time"

	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/urfave/cli/v2"

	"github.com/relaymusic/relay/backfill"
	"github.com/relaymusic/relay/datadir"
	"github.com/relaymusic/relay/outbound"
	"github.com/relaymusic/relay/sqlite"
	"github.com/relaymusic/relay/validate"
)

// publicURLFlag is the instance's public origin: the endpoint of its
// did:web document (serve) and the origin under which its own media URLs
// are valid besides https ones (serve and backfill: validate.TrustOrigin).
var publicURLFlag = &cli.StringFlag{Name: "public-url", Usage: "the appview's public origin (https; http on loopback), the endpoint its did:web document names and the origin of its own media", EnvVars: []string{"RELAY_PUBLIC_URL"}}

// backfillFlags are shared by `relay backfill` and `relay serve --backfill`.
var backfillFlags = []cli.Flag{
	&cli.StringSliceFlag{Name: "atproto-relay", Usage: "list repos with tracks from this ATProto relay (com.atproto.sync.listReposByCollection); the default source when no other is given", EnvVars: []string{"RELAY_ATPROTO_RELAY"}},
	&cli.StringSliceFlag{Name: "pds", Usage: "list every repo of this PDS (com.atproto.sync.listRepos)", EnvVars: []string{"RELAY_PDS"}},
	&cli.StringSliceFlag{Name: "did", Usage: "backfill this account (repeatable); done again even if done before", EnvVars: []string{"RELAY_DID"}},
	&cli.StringFlag{Name: "plc-url", Value: "https://plc.directory", Usage: "PLC directory for resolving did:plc", EnvVars: []string{"RELAY_PLC_URL"}},
	&cli.BoolFlag{Name: "allow-private-network", Usage: "let endpoints learned from the network (PDSes in DID documents, did:web hosts) be plain http at loopback or private addresses: for local test networks only", EnvVars: []string{"RELAY_ALLOW_PRIVATE_NETWORK"}},
	&cli.BoolFlag{Name: "trust-declared-handles", Usage: "store the handle a DID document declares without resolving it back (for local networks whose handles do not resolve)", EnvVars: []string{"RELAY_TRUST_DECLARED_HANDLES"}},
	&cli.IntFlag{Name: "concurrency", Value: 8, Usage: "repos fetched at once", EnvVars: []string{"RELAY_CONCURRENCY"}},
	&cli.IntFlag{Name: "per-host", Value: 2, Usage: "repos fetched at once from one PDS host", EnvVars: []string{"RELAY_PER_HOST"}},
	&cli.Float64Flag{Name: "host-rate", Value: 2, Usage: "getRepo calls per second to one PDS host", EnvVars: []string{"RELAY_HOST_RATE"}},
	&cli.IntFlag{Name: "max-attempts", Value: 5, Usage: "tries per repo before it is left failed", EnvVars: []string{"RELAY_MAX_ATTEMPTS"}},
	&cli.Int64Flag{Name: "max-repo-bytes", Value: backfill.DefaultMaxRepoBytes, Usage: "largest repo CAR fetched (bytes); up to --concurrency of them are held in memory at once, each at most about twice this", EnvVars: []string{"RELAY_MAX_REPO_BYTES"}},
	&cli.DurationFlag{Name: "retry-base", Value: 5 * time.Second, Usage: "first retry delay of a failed repo (doubles per attempt)", EnvVars: []string{"RELAY_RETRY_BASE"}},
}

var backfillCommand = &cli.Command{
	Name:  "backfill",
	Usage: "find and index tracks published before the service started (safe beside a running relay serve)",
	Description: "Repos come from --atproto-relay (default the public ATProto relay), --pds or --did. Progress is kept in SQLite:\n" +
		"a run that is interrupted continues where it stopped. A running relay serve on the same --data-dir\n" +
		"picks the tracks up into search; otherwise the next start does.",
	Flags: append([]cli.Flag{dataDirFlag, publicURLFlag}, backfillFlags...),
	Action: func(c *cli.Context) error {
		// The records a relay serve with this --public-url accepts.
		if err := validate.TrustOrigin(c.String("public-url")); err != nil {
			return err
		}
		// The store alone: a running relay serve holds the index.
		dd, err := datadir.Open(c.Context, c.String("data-dir"))
		if err != nil {
			return err
		}
		defer dd.Close()
		cfg, err := backfillConfig(c, dd.Store)
		if err != nil {
			return err
		}
		cfg.Metrics = backfill.NewMetrics(dd.Registry)
		if fi, err := os.Stderr.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			cfg.Terminal = os.Stderr
		}
		stats, err := backfill.Run(c.Context, cfg)
		report(stats, slog.Default(), cfg.Terminal)
		return err
	},
}

// backfillConfig reads the backfill flags.
func backfillConfig(c *cli.Context, store *sqlite.Store) (backfill.Config, error) {
	dirClient, repoClient, err := outboundClients(c)
	if err != nil {
		return backfill.Config{}, err
	}
	cfg := backfill.Config{
		Store: store,
		Directory: &identity.BaseDirectory{
			PLCURL:     c.String("plc-url"),
			HTTPClient: *dirClient,
			// Verifying a handle costs a DNS or HTTP lookup per repo; only
			// pointless when the declared one is trusted anyway.
			SkipHandleVerification: c.Bool("trust-declared-handles"),
		},
		HTTPClient:           repoClient,
		TrustDeclaredHandles: c.Bool("trust-declared-handles"),
		Concurrency:          c.Int("concurrency"),
		PerHost:              c.Int("per-host"),
		HostRate:             c.Float64("host-rate"),
		MaxAttempts:          c.Int("max-attempts"),
		MaxRepoBytes:         c.Int64("max-repo-bytes"),
		RetryBase:            c.Duration("retry-base"),
		Log:                  slog.Default(),
	}
	for _, raw := range c.StringSlice("did") {
		d, err := syntax.ParseDID(raw)
		if err != nil {
			return cfg, fmt.Errorf("bad --did %q: %w", raw, err)
		}
		cfg.DIDs = append(cfg.DIDs, d)
	}
	for _, u := range c.StringSlice("pds") {
		cfg.Sources = append(cfg.Sources, backfill.NewPDSSource(u))
	}
	relays := c.StringSlice("atproto-relay")
	if len(relays) == 0 && len(cfg.Sources) == 0 && len(cfg.DIDs) == 0 {
		relays = []string{backfill.DefaultATProtoRelay}
	}
	for _, u := range relays {
		cfg.Sources = append(cfg.Sources, backfill.NewRelaySource(u))
	}
	return cfg, nil
}

// directoryClient is the client identity lookups go through: the PLC
// directory (--plc-url) is the operator's and trusted; did:web documents
// and handle well-known files are named by anyone and get outbound's rules.
func directoryClient(c *cli.Context, timeout time.Duration) (*http.Client, error) {
	client, err := outbound.New(outbound.Options{
		AllowPrivateNetwork: c.Bool("allow-private-network"),
		Trusted:             []string{c.String("plc-url")},
		Timeout:             timeout,
		MaxBody:             1 << 20, // a DID document is a few KB
	})
	if err != nil {
		return nil, fmt.Errorf("--plc-url: %w", err)
	}
	return client, nil
}

// outboundClients are the clients for what DID documents name: one for
// identity (did:plc from the configured directory, trusted; did:web and
// handle well-known files, not), one for getRepo (the PDS endpoints DID
// documents declare, not trusted; the hosts named by --pds and --atproto-relay,
// trusted).
func outboundClients(c *cli.Context) (dir, repos *http.Client, err error) {
	allow := c.Bool("allow-private-network")
	if dir, err = directoryClient(c, 30*time.Second); err != nil {
		return nil, nil, err
	}
	trusted := append(append([]string{}, c.StringSlice("pds")...), c.StringSlice("atproto-relay")...)
	repos, err = outbound.New(outbound.Options{
		AllowPrivateNetwork: allow,
		Trusted:             trusted,
		Timeout:             10 * time.Minute,
		// The repo loader caps the CAR itself (and says so more clearly).
		MaxBody: math.MaxInt64,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("--pds or --atproto-relay: %w", err)
	}
	return dir, repos, nil
}

func report(s backfill.Stats, log *slog.Logger, term io.Writer) {
	log.Info("backfill finished", "repos_done", s.Done, "repos_failed_attempts", s.Failed, "records", s.Records,
		"took", s.Took.Round(time.Millisecond), "repos_per_s", fmt.Sprintf("%.1f", float64(s.Done)/max(s.Took.Seconds(), 1e-9)))
	for _, f := range s.Exhausted {
		log.Warn("backfill: repo still failing", "did", f.DID, "attempts", f.Attempts, "err", f.Error)
	}
}

// runBackfillInBackground is `relay serve --backfill`.
func runBackfillInBackground(ctx context.Context, cfg backfill.Config) {
	stats, err := backfill.Run(ctx, cfg)
	if err != nil && ctx.Err() == nil {
		cfg.Log.Error("background backfill failed", "err", err)
	}
	report(stats, cfg.Log, nil)
}
