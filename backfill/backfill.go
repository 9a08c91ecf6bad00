package backfill

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
)

// Config configures a backfill run. Zero values take the defaults.
type Config struct {
	Store Store
	// Sources list repos; DIDs are queued by name (and re-done if done).
	Sources []Source
	DIDs    []syntax.DID
	// Directory resolves DIDs to their PDS, signing key and handle.
	Directory identity.Directory
	// HTTPClient fetches repos from the PDS endpoints DID documents declare:
	// untrusted addresses, so by default an outbound client (public https
	// only). Its body cap must exceed MaxRepoBytes; the loader enforces that.
	HTTPClient *http.Client
	// TrustDeclaredHandles stores the handle a DID document declares even
	// when the directory did not verify it (local networks whose handles do
	// not resolve). Off, only verified handles are stored.
	TrustDeclaredHandles bool

	Concurrency int     // repos at once, default 8
	PerHost     int     // repos at once on one PDS host, default 2
	HostRate    float64 // getRepo calls per second per host, default 2
	MaxAttempts int     // tries per repo before it stays failed, default 5
	// MaxRepoBytes caps one repo's CAR, default DefaultMaxRepoBytes; up to
	// Concurrency repos are held in memory at once.
	MaxRepoBytes int64
	// RetryBase is the first retry delay; it doubles per attempt, up to 10m.
	RetryBase time.Duration // default 5s
	// RateLimitPause is how long a host that answered 429 is left alone.
	RateLimitPause time.Duration // default 10s

	Log *slog.Logger
	// Terminal, if set, gets a progress bar; otherwise progress is logged
	// every LogEvery repos.
	Terminal io.Writer
	LogEvery int // default 100
	// Committed, if set, is called after each repo is applied.
	Committed func()
	// Metrics are the backfill's series (NewMetrics); nil: unregistered ones.
	Metrics *Metrics
}

func (c *Config) defaults() {
	if c.Metrics == nil {
		c.Metrics = NewMetrics(nil)
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 8
	}
	if c.PerHost <= 0 {
		c.PerHost = 2
	}
	if c.HostRate <= 0 {
		c.HostRate = 2
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 5
	}
	if c.MaxRepoBytes <= 0 {
		c.MaxRepoBytes = DefaultMaxRepoBytes
	}
	if c.RetryBase <= 0 {
		c.RetryBase = 5 * time.Second
	}
	if c.RateLimitPause <= 0 {
		c.RateLimitPause = 10 * time.Second
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	if c.LogEvery <= 0 {
		c.LogEvery = 100
	}
}

// Stats is what a run did.
type Stats struct {
	// Done and Failed count the attempts this run made; Records the tracks
	// it applied.
	Done, Failed int
	Records      int
	// Exhausted repos failed MaxAttempts times and are left for an operator.
	Exhausted []relay.FailedRepo
	Took      time.Duration
}

// Run lists the sources, then backfills every due repo until none is left
// (failed repos are retried with backoff until MaxAttempts). It returns
// early, with progress saved, when ctx ends.
func Run(ctx context.Context, cfg Config) (Stats, error) {
	cfg.defaults()
	start := time.Now()
	q := &queue{st: cfg.Store, maxAttempts: cfg.MaxAttempts, retryBase: cfg.RetryBase}
	if err := q.requeue(ctx, cfg.DIDs); err != nil {
		return Stats{}, err
	}
	for _, src := range cfg.Sources {
		if err := list(ctx, cfg.Store, src, cfg.Log); err != nil {
			if ctx.Err() != nil {
				return Stats{}, ctx.Err()
			}
			// One source down does not stop the repos we already know.
			cfg.Log.Error("backfill: listing repos failed; continuing with the repos already known", "source", src.Name(), "err", err)
		}
	}

	counts, err := q.counts(ctx)
	if err != nil {
		return Stats{}, err
	}
	cfg.Log.Info("backfill starting", "pending", counts.Pending, "done_before", counts.Done, "failed", counts.Failed)
	prog := &progress{w: cfg.Terminal, log: cfg.Log, every: cfg.LogEvery, start: start, metrics: cfg.Metrics}
	stopProgress := prog.follow(ctx, q, counts)

	d := newDispatcher(&cfg, q, prog)
	runErr := d.run(ctx)
	stopProgress()
	return d.report(ctx, start, runErr)
}

// list walks a source's pages from where the last run stopped (or from the
// start, when the last run finished it: new repos appear) and queues every
// repo it names.
func list(ctx context.Context, st Store, src Source, log *slog.Logger) error {
	cursor, complete, err := st.BackfillSource(ctx, src.Name())
	if err != nil {
		return err
	}
	if complete {
		cursor = ""
	}
	found := 0
	for {
		var (
			dids []syntax.DID
			next string
		)
		// A few tries per page: listing endpoints have bad moments too.
		for attempt := 0; ; attempt++ {
			dids, next, err = src.List(ctx, cursor)
			if err == nil {
				break
			}
			if attempt == 3 || ctx.Err() != nil {
				return err
			}
			select {
			case <-time.After(time.Duration(1<<attempt) * time.Second):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if _, err := st.AddBackfillRepos(ctx, dids); err != nil {
			return err
		}
		found += len(dids)
		if err := st.SetBackfillSource(ctx, src.Name(), next, next == ""); err != nil {
			return err
		}
		if next == "" {
			log.Info("backfill: listed repos", "source", src.Name(), "repos", found)
			return nil
		}
		cursor = next
	}
}
