package handles

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
)

// Directory resolves a DID to its identity; Identity.Handle is
// handle.invalid unless the handle verified both ways. Purge drops what it
// cached of an identity (indigo's CacheDirectory), so that a recheck sees
// the changed DID document.
type Directory interface {
	LookupDID(ctx context.Context, did syntax.DID) (*identity.Identity, error)
	Purge(ctx context.Context, atid syntax.AtIdentifier) error
}

// Store is what the resolver reads and writes.
type Store interface {
	UnresolvedActors(ctx context.Context, now time.Time, limit int) ([]relay.UnresolvedActor, error)
	SetResolvedHandle(ctx context.Context, a relay.UnresolvedActor, handle syntax.Handle) error
	HandleUnverified(ctx context.Context, a relay.UnresolvedActor, next time.Time) error
	HandleLookupFailed(ctx context.Context, a relay.UnresolvedActor, next time.Time) error
}

// Config configures a Resolver. Zero durations and counts take the defaults.
type Config struct {
	Store     Store
	Directory Directory
	// TrustDeclared stores the handle a DID document declares even when it
	// does not resolve back (local test networks, whose handles do not).
	TrustDeclared bool
	Batch         int           // accounts per poll (default 32)
	Concurrency   int           // lookups at once (default 4)
	Timeout       time.Duration // per lookup (default 10s)
	// Idle is the wait when nothing is due (default 1s): it bounds how long
	// a changed handle waits for its lookup, and a poll that finds nothing
	// is one indexed read.
	Idle      time.Duration
	RetryBase time.Duration // first retry delay, doubled per failure (default 1m)
	RetryMax  time.Duration // longest retry delay (default 24h)
	Log       *slog.Logger
	// Metrics count lookups by outcome (NewMetrics); nil: unregistered ones.
	Metrics *Metrics
}

// Resolver looks up the handles of artists the store does not know.
type Resolver struct {
	cfg Config
}

// New returns a Resolver; Run starts it.
func New(cfg Config) *Resolver {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 32
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 4
	}
	def(&cfg.Timeout, 10*time.Second)
	def(&cfg.Idle, time.Second)
	def(&cfg.RetryBase, time.Minute)
	def(&cfg.RetryMax, 24*time.Hour)
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics(nil)
	}
	return &Resolver{cfg: cfg}
}

// Run resolves due accounts until ctx is done. Store errors are logged and
// the poll retried after Idle: the resolver must never stop ingest.
func (r *Resolver) Run(ctx context.Context) {
	for {
		n, err := r.Step(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			r.cfg.Log.Warn("handle resolver: listing accounts failed", "err", err)
		}
		if err != nil || n < r.cfg.Batch {
			select {
			case <-ctx.Done():
				return
			case <-time.After(r.cfg.Idle):
			}
		}
	}
}

// Step looks up one batch of due accounts and returns how many it took.
func (r *Resolver) Step(ctx context.Context) (int, error) {
	due, err := r.cfg.Store.UnresolvedActors(ctx, time.Now(), r.cfg.Batch)
	if err != nil {
		return 0, err
	}
	sem := make(chan struct{}, r.cfg.Concurrency)
	var wg sync.WaitGroup
	for _, a := range due {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return 0, ctx.Err()
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			r.resolve(ctx, a)
		}()
	}
	wg.Wait()
	return len(due), nil
}

const (
	outcomeResolved   = "resolved"
	outcomeUnverified = "unverified"
	outcomeFailed     = "failed"
)

func (r *Resolver) resolve(ctx context.Context, a relay.UnresolvedActor) {
	if a.Recheck != 0 {
		// The DID document changed since it may have been cached.
		if err := r.cfg.Directory.Purge(ctx, a.DID.AtIdentifier()); err != nil {
			r.cfg.Log.Warn("handle resolver: purging cached identity failed", "did", a.DID, "err", err)
		}
	}
	lctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	ident, err := r.cfg.Directory.LookupDID(lctx, a.DID)
	cancel()
	if ctx.Err() != nil {
		return // shutting down: not the account's failure
	}
	var handle syntax.Handle
	outcome := outcomeFailed
	if err == nil {
		handle, outcome = r.handleOf(ident)
	}
	if outcome == outcomeResolved {
		if err := r.cfg.Store.SetResolvedHandle(ctx, a, handle); err != nil {
			r.cfg.Log.Warn("handle resolver: saving handle failed", "did", a.DID, "err", err)
			return
		}
		r.cfg.Metrics.lookups.WithLabelValues(outcome).Inc()
		return
	}
	r.cfg.Metrics.lookups.WithLabelValues(outcome).Inc()
	next := time.Now().Add(r.Backoff(a.Attempts))
	r.cfg.Log.Debug("handle resolver: no verified handle", "did", a.DID, "outcome", outcome, "err", err, "retry_at", next)
	save := r.cfg.Store.HandleLookupFailed
	if outcome == outcomeUnverified {
		// An answer: the handle shown, if any, is no longer backed.
		save = r.cfg.Store.HandleUnverified
	}
	if err := save(ctx, a, next); err != nil {
		r.cfg.Log.Warn("handle resolver: saving failed lookup failed", "did", a.DID, "err", err)
	}
}

// handleOf is the handle to store for ident, and the lookup's outcome.
func (r *Resolver) handleOf(ident *identity.Identity) (syntax.Handle, string) {
	if ident.Handle != "" && !ident.Handle.IsInvalidHandle() {
		return ident.Handle.Normalize(), outcomeResolved
	}
	if r.cfg.TrustDeclared {
		if h, err := ident.DeclaredHandle(); err == nil {
			return h.Normalize(), outcomeResolved
		}
	}
	return "", outcomeUnverified
}

// Backoff is the wait after the failure that follows attempts failures:
// RetryBase doubled per failure, at most RetryMax.
func (r *Resolver) Backoff(attempts int) time.Duration {
	d := r.cfg.RetryBase
	for range attempts {
		d *= 2
		if d >= r.cfg.RetryMax {
			return r.cfg.RetryMax
		}
	}
	return min(d, r.cfg.RetryMax)
}
