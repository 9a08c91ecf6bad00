package backfill

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
)

// dispatcher hands due repos to workers, at most Concurrency at once and
// one per DID, until nothing is due, nothing runs and no retry is waiting.
type dispatcher struct {
	q    *queue
	w    *worker
	prog *progress
	sem  chan struct{} // a slot per running repo
	// finished wakes the dispatcher when a repo ends.
	finished chan struct{}
	wg       sync.WaitGroup

	mu       sync.Mutex
	inflight map[syntax.DID]bool
	stats    Stats
}

func newDispatcher(cfg *Config, q *queue, prog *progress) *dispatcher {
	return &dispatcher{
		q:        q,
		w:        &worker{cfg: cfg, q: q, hosts: newHosts(cfg.PerHost, cfg.HostRate), lim: limitsFor(cfg.MaxRepoBytes)},
		prog:     prog,
		sem:      make(chan struct{}, cfg.Concurrency),
		finished: make(chan struct{}, cfg.Concurrency),
		inflight: map[syntax.DID]bool{},
	}
}

// run drains the queue, and returns once every worker it started is done:
// with nil when the queue is drained or ctx ends, with the store's error
// when the store fails.
func (d *dispatcher) run(ctx context.Context) error {
	defer d.wg.Wait()
	storeErr := func(err error) error {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	for {
		due, err := d.q.due(ctx, 2*cap(d.sem))
		if err != nil {
			return storeErr(err)
		}
		queued, ok := d.startAll(ctx, due)
		if !ok {
			return nil
		}
		if queued > 0 {
			continue
		}
		if d.busy() > 0 {
			select {
			case <-d.finished:
			case <-ctx.Done():
				return nil
			}
			continue
		}
		// Nothing due and nothing running: wait for the next retry, or stop.
		next, err := d.q.next(ctx)
		if err != nil {
			return storeErr(err)
		}
		if next.IsZero() {
			return nil
		}
		select {
		case <-time.After(time.Until(next) + 10*time.Millisecond):
		case <-ctx.Done():
			return nil
		}
	}
}

// startAll starts a worker for each listed repo not already running; false
// when ctx ended while waiting for a slot.
func (d *dispatcher) startAll(ctx context.Context, due []relay.DueRepo) (queued int, ok bool) {
	for _, r := range due {
		d.mu.Lock()
		busy := d.inflight[r.DID]
		if !busy {
			d.inflight[r.DID] = true
		}
		d.mu.Unlock()
		if busy {
			continue
		}
		select {
		case d.sem <- struct{}{}:
		case <-ctx.Done():
			// Listed but never started: nothing to take back.
			d.mu.Lock()
			delete(d.inflight, r.DID)
			d.mu.Unlock()
			return queued, false
		}
		queued++
		d.wg.Add(1)
		go d.work(ctx, r)
	}
	return queued, true
}

func (d *dispatcher) work(ctx context.Context, r relay.DueRepo) {
	defer d.wg.Done()
	n, err := d.w.do(ctx, r)
	skipped := errors.Is(err, errNotDue)
	d.mu.Lock()
	delete(d.inflight, r.DID)
	switch {
	case skipped:
	case err == nil:
		d.stats.Done++
		d.stats.Records += n
	case ctx.Err() == nil:
		d.stats.Failed++
	}
	d.mu.Unlock()
	if ctx.Err() == nil && !skipped {
		d.prog.repoFinished(err == nil, n)
	}
	<-d.sem
	select { // a wake-up for the dispatcher, never a wait
	case d.finished <- struct{}{}:
	default:
	}
}

func (d *dispatcher) busy() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.inflight)
}

// report is the run's Stats, with the repos still failing; it returns
// runErr, or ctx's error when the run was interrupted.
func (d *dispatcher) report(ctx context.Context, start time.Time, runErr error) (Stats, error) {
	d.mu.Lock()
	stats := d.stats
	d.mu.Unlock()
	// The run may have been cancelled: the report is read all the same.
	ctx2 := context.WithoutCancel(ctx)
	if counts, err := d.q.counts(ctx2); err == nil {
		d.prog.metrics.setCounts(counts)
	}
	stats.Exhausted, _ = d.q.failures(ctx2)
	stats.Took = time.Since(start)
	if runErr != nil {
		return stats, runErr
	}
	return stats, ctx.Err()
}

type worker struct {
	cfg   *Config
	q     *queue
	hosts *hosts
	lim   repoLimits
}

// do backfills one repo and records the outcome; it returns the number of
// tracks applied. The attempt is counted before the fetch, so a repo that
// kills the process (memory, a crash) uses up its attempts too.
func (w *worker) do(ctx context.Context, r relay.DueRepo) (int, error) {
	start := time.Now()
	if err := w.q.start(ctx, r); err != nil {
		return 0, err
	}
	n, err := w.fetchAndApply(ctx, r.DID)
	if ctx.Err() != nil {
		// Interrupted by a shutdown: not the repo's fault, put it back.
		if uerr := w.q.undo(context.WithoutCancel(ctx), r); uerr != nil {
			w.cfg.Log.Error("backfill: putting back an interrupted repo", "did", r.DID, "err", uerr)
		}
		return 0, ctx.Err()
	}
	m := w.cfg.Metrics
	m.seconds.Observe(time.Since(start).Seconds())
	if err == nil {
		m.attempts.WithLabelValues("done").Inc()
		m.records.Add(float64(n))
		return n, nil
	}
	m.attempts.WithLabelValues("failed").Inc()
	retryAt, ferr := w.q.fail(context.WithoutCancel(ctx), r, err)
	if retryAt.IsZero() {
		w.cfg.Log.Warn("backfill: repo failed, given up", "did", r.DID, "attempt", r.Attempts+1, "err", err)
	} else {
		w.cfg.Log.Warn("backfill: repo failed", "did", r.DID, "attempt", r.Attempts+1, "err", err,
			"retry_in", time.Until(retryAt).Round(time.Millisecond))
	}
	if ferr != nil {
		return 0, errors.Join(err, ferr)
	}
	return 0, err
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
	snap, err := fetchRepo(ctx, w.cfg.HTTPClient, ident, w.lim, w.cfg.Metrics)
	release()
	if errors.Is(err, errRateLimited) {
		w.hosts.pause(host, w.cfg.RateLimitPause)
	}
	if err != nil {
		return 0, err
	}
	if _, err := w.cfg.Store.ResyncRepo(ctx, did, snap.rev, w.handle(ident), snap.collections, snap.tracks); err != nil {
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
