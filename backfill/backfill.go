package backfill

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay/sqlite"
)

// Config configures a backfill run. Zero values take the defaults.
type Config struct {
	Store *sqlite.Store
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
}

func (c *Config) defaults() {
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
	Exhausted []sqlite.FailedBackfill
	Took      time.Duration
}

// Run lists the sources, then backfills every due repo until none is left
// (failed repos are retried with backoff until MaxAttempts). It returns
// early, with progress saved, when ctx ends.
func Run(ctx context.Context, cfg Config) (Stats, error) {
	cfg.defaults()
	start := time.Now()
	st := cfg.Store
	var stats Stats

	if len(cfg.DIDs) > 0 {
		if err := st.RequeueBackfill(ctx, cfg.DIDs); err != nil {
			return stats, err
		}
	}
	for _, src := range cfg.Sources {
		if err := list(ctx, st, src, cfg.Log); err != nil {
			if ctx.Err() != nil {
				return stats, ctx.Err()
			}
			// One source down does not stop the repos we already know.
			cfg.Log.Error("backfill: listing repos failed; continuing with the repos already known", "source", src.Name(), "err", err)
		}
	}

	counts, err := st.BackfillCounts(ctx, cfg.MaxAttempts)
	if err != nil {
		return stats, err
	}
	prog := &progress{w: cfg.Terminal, log: cfg.Log, every: cfg.LogEvery, start: start}
	prog.setTotal(counts.Pending + counts.Done + counts.Failed - counts.Exhausted)
	prog.done = counts.Done
	updateGauges(counts)
	cfg.Log.Info("backfill starting", "pending", counts.Pending, "done_before", counts.Done, "failed", counts.Failed)

	drawDone := make(chan struct{})
	go func() {
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for i := 0; ; i++ {
			select {
			case <-drawDone:
				return
			case <-t.C:
				prog.draw(false)
				if i%8 == 0 {
					if c, err := st.BackfillCounts(ctx, cfg.MaxAttempts); err == nil {
						updateGauges(c)
					}
				}
			}
		}
	}()

	var (
		mu       sync.Mutex
		inflight = map[syntax.DID]bool{}
		wg       sync.WaitGroup
		finished = make(chan struct{}, cfg.Concurrency)
		sem      = make(chan struct{}, cfg.Concurrency)
		hs       = newHosts(cfg.PerHost, cfg.HostRate)
	)
	w := worker{cfg: &cfg, hosts: hs, lim: limitsFor(cfg.MaxRepoBytes)}
	// runErr is a store failure that ends the run; it still waits for the
	// workers and stops the progress bar.
	var runErr error
loop:
	for {
		due, err := st.BackfillDue(ctx, time.Now(), cfg.MaxAttempts, 2*cfg.Concurrency)
		if err != nil {
			if ctx.Err() == nil {
				runErr = err
			}
			break
		}
		queued := 0
		for _, r := range due {
			mu.Lock()
			busy := inflight[r.DID]
			if !busy {
				inflight[r.DID] = true
			}
			mu.Unlock()
			if busy {
				continue
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				break loop
			}
			queued++
			wg.Add(1)
			go func(r sqlite.DueRepo) {
				defer wg.Done()
				n, err := w.do(ctx, r)
				mu.Lock()
				delete(inflight, r.DID)
				skipped := errors.Is(err, errNotDue)
				switch {
				case skipped:
				case err == nil:
					stats.Done++
					stats.Records += n
				case ctx.Err() == nil:
					stats.Failed++
				}
				mu.Unlock()
				if ctx.Err() == nil && !skipped {
					prog.repoFinished(err == nil, n)
				}
				<-sem
				select { // a wake-up for the dispatcher, never a wait
				case finished <- struct{}{}:
				default:
				}
			}(r)
		}
		mu.Lock()
		busy := len(inflight)
		mu.Unlock()
		if queued > 0 {
			continue
		}
		if busy > 0 {
			select {
			case <-finished:
			case <-ctx.Done():
				break loop
			}
			continue
		}
		// Nothing due and nothing running: wait for the next retry, or stop.
		next, err := st.BackfillWaiting(ctx, cfg.MaxAttempts)
		if err != nil {
			if ctx.Err() == nil {
				runErr = err
			}
			break
		}
		if next.IsZero() {
			break
		}
		select {
		case <-time.After(time.Until(next) + 10*time.Millisecond):
		case <-ctx.Done():
			break loop
		}
	}
	wg.Wait()
	close(drawDone)
	prog.draw(true)

	// A final count for the metrics and the report.
	ctx2 := context.WithoutCancel(ctx)
	if counts, err := st.BackfillCounts(ctx2, cfg.MaxAttempts); err == nil {
		updateGauges(counts)
	}
	stats.Exhausted, _ = st.BackfillFailures(ctx2, 1000)
	stats.Took = time.Since(start)
	if runErr != nil {
		return stats, runErr
	}
	if ctx.Err() != nil {
		return stats, ctx.Err()
	}
	return stats, nil
}

// list walks a source's pages from where the last run stopped (or from the
// start, when the last run finished it: new repos appear) and queues every
// repo it names.
func list(ctx context.Context, st *sqlite.Store, src Source, log *slog.Logger) error {
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

// errNotDue: the repo changed between listing and starting (a worker
// finished it meanwhile); not an attempt, not counted.
var errNotDue = errors.New("repo no longer due")

type worker struct {
	cfg   *Config
	hosts *hosts
	lim   repoLimits
}

// do backfills one repo and records the outcome; it returns the number of
// tracks applied. The attempt is counted before the fetch, so a repo that
// kills the process (memory, a crash) uses up its attempts too.
func (w *worker) do(ctx context.Context, r sqlite.DueRepo) (int, error) {
	start := time.Now()
	started, err := w.cfg.Store.StartBackfill(ctx, r, time.Now().Add(w.retryDelay(r.Attempts)))
	if err != nil {
		return 0, err
	}
	if !started {
		return 0, errNotDue
	}
	n, err := w.fetchAndApply(ctx, r.DID)
	if ctx.Err() != nil {
		// Interrupted by a shutdown: not the repo's fault, put it back.
		if uerr := w.cfg.Store.UndoBackfillStart(context.WithoutCancel(ctx), r); uerr != nil {
			w.cfg.Log.Error("backfill: putting back an interrupted repo", "did", r.DID, "err", uerr)
		}
		return 0, ctx.Err()
	}
	repoSeconds.Observe(time.Since(start).Seconds())
	if err == nil {
		reposTotal.WithLabelValues("done").Inc()
		recordsTotal.Add(float64(n))
		return n, nil
	}
	reposTotal.WithLabelValues("failed").Inc()
	delay := w.retryDelay(r.Attempts)
	w.cfg.Log.Warn("backfill: repo failed", "did", r.DID, "attempt", r.Attempts+1, "err", err, "retry_in", delay.Round(time.Millisecond))
	if ferr := w.cfg.Store.FailBackfill(context.WithoutCancel(ctx), r.DID, err, time.Now().Add(delay)); ferr != nil {
		return 0, errors.Join(err, ferr)
	}
	return 0, err
}

// retryDelay is exponential backoff with jitter: base * 2^attempts, capped.
func (w *worker) retryDelay(attempts int) time.Duration {
	delay := min(w.cfg.RetryBase<<min(attempts, 16), 10*time.Minute)
	return delay/2 + rand.N(delay/2+1)
}

func (w *worker) fetchAndApply(ctx context.Context, did syntax.DID) (int, error) {
	ident, host, err := pdsHost(ctx, w.cfg.Directory, did)
	if err != nil {
		return 0, err
	}
	release, err := w.hosts.acquire(ctx, host)
	if err != nil {
		return 0, err
	}
	snap, err := fetchRepo(ctx, w.cfg.HTTPClient, ident, w.lim)
	release()
	if errors.Is(err, errRateLimited) {
		w.hosts.pause(host, w.cfg.RateLimitPause)
	}
	if err != nil {
		return 0, err
	}
	if _, err := w.cfg.Store.ResyncRepo(ctx, did, snap.rev, w.handle(ident), snap.tracks); err != nil {
		return 0, fmt.Errorf("applying %s: %w", did, err)
	}
	if w.cfg.Committed != nil {
		w.cfg.Committed()
	}
	return len(snap.tracks), nil
}

// handle is the account's handle to store, or "".
func (w *worker) handle(ident *identity.Identity) string {
	if ident.Handle != "" && ident.Handle != syntax.HandleInvalid {
		return ident.Handle.Normalize().String()
	}
	if w.cfg.TrustDeclaredHandles {
		if h, err := ident.DeclaredHandle(); err == nil {
			return h.Normalize().String()
		}
	}
	return ""
}

func updateGauges(c sqlite.BackfillCounts) {
	reposGauge.WithLabelValues("pending").Set(float64(c.Pending))
	reposGauge.WithLabelValues("done").Set(float64(c.Done))
	reposGauge.WithLabelValues("failed").Set(float64(c.Failed))
}
