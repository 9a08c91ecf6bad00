package audiocheck

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/relaymusic/relay"
)

// Store is what the checker reads and writes.
type Store interface {
	// SyncAudioChecks queues the audio of tracks new or changed since the
	// last call, at most limit of each kind per call; more says whether
	// some is left.
	SyncAudioChecks(ctx context.Context, now time.Time, limit int) (more bool, err error)
	// DueAudioChecks lists up to limit checks due at now, longest due
	// first, each with the track's current URL.
	DueAudioChecks(ctx context.Context, now time.Time, limit int) ([]relay.AudioCheck, error)
	// SaveAudioCheck stores an outcome if the track still has that URL,
	// hiding it (Status missing) or showing it, in one transaction with
	// its outbox entry; it reports whether visibility changed.
	SaveAudioCheck(ctx context.Context, c relay.AudioCheck) (bool, error)
	// AudioOutboxCursor is the outbox seq SyncAudioChecks has read (-1:
	// none yet).
	AudioOutboxCursor(ctx context.Context) (int64, error)
}

// Config configures a Checker. Zero values take the defaults.
type Config struct {
	Store Store
	// Client must be outbound's (https only, public addresses, bounded
	// time and redirects), with no body cap below an audio file's size: a
	// HEAD declares the whole file's length. The checker reads at most a
	// few bytes of any body itself.
	Client *http.Client
	// Concurrency is the most checks in flight (default 8); PerHost the
	// most to one host (default 2), each starting at least HostGap after
	// the host's last (default 100ms); MaxHosts the most idle hosts
	// remembered (default 4096).
	Concurrency int
	PerHost     int
	HostGap     time.Duration
	MaxHosts    int
	// Timeout bounds one check, the GET after a refused HEAD included
	// (default 15s).
	Timeout time.Duration
	// Batch is how many due checks one pass takes (default 256), of which
	// at most HostBatch per host (default 32): the rest wait for the next
	// pass, still due.
	Batch, HostBatch int
	// SyncBatch is how many tracks (and outbox entries) one sync
	// transaction queues (default 2000: a few milliseconds of the writer),
	// at most SyncRounds per pass (default 10).
	SyncBatch, SyncRounds int
	// Idle is the wait when a pass found nothing to do (default 5s).
	Idle     time.Duration
	Schedule Schedule
	// Now is the clock (default time.Now); tests move it.
	Now     func() time.Time
	Log     *slog.Logger
	Metrics *Metrics
}

// Checker checks tracks' audio in the background.
type Checker struct {
	cfg    Config
	hosts  *hosts
	jitter func(time.Duration) time.Duration
}

// New returns a Checker; Run starts it.
func New(cfg Config) *Checker {
	defInt := func(p *int, v int) {
		if *p <= 0 {
			*p = v
		}
	}
	defDur := func(p *time.Duration, v time.Duration) {
		if *p <= 0 {
			*p = v
		}
	}
	defInt(&cfg.Concurrency, 8)
	defInt(&cfg.PerHost, 2)
	defDur(&cfg.HostGap, 100*time.Millisecond)
	defInt(&cfg.MaxHosts, 4096)
	defDur(&cfg.Timeout, 15*time.Second)
	defInt(&cfg.Batch, 256)
	defInt(&cfg.HostBatch, 32)
	defInt(&cfg.SyncBatch, 2000)
	defInt(&cfg.SyncRounds, 10)
	defDur(&cfg.Idle, 5*time.Second)
	cfg.Schedule.defaults()
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics(nil)
	}
	return &Checker{
		cfg:    cfg,
		hosts:  newHosts(cfg.PerHost, cfg.HostGap, cfg.MaxHosts),
		jitter: jitterBy(cfg.Schedule.Jitter),
	}
}

// Run checks until ctx ends: a pass at once after one that did something,
// otherwise after Idle. Errors are logged and retried, never fatal. It
// returns ctx.Err().
func (c *Checker) Run(ctx context.Context) error {
	for {
		n, more, err := c.Pass(ctx)
		if err != nil && ctx.Err() == nil {
			c.cfg.Log.ErrorContext(ctx, "audio check pass failed; retrying", "err", err, "retry_in", c.cfg.Idle)
		}
		if err != nil || (n == 0 && !more) {
			t := time.NewTimer(c.cfg.Idle)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// Pass queues new and changed tracks (bounded), then runs one batch of due
// checks and stores their outcomes. It returns how many checks it ran and
// whether queueing has more to do.
func (c *Checker) Pass(ctx context.Context) (checked int, more bool, err error) {
	now := c.cfg.Now()
	for range c.cfg.SyncRounds {
		if more, err = c.cfg.Store.SyncAudioChecks(ctx, now, c.cfg.SyncBatch); err != nil {
			return 0, false, fmt.Errorf("audiocheck: queueing tracks: %w", err)
		}
		if !more {
			break
		}
	}
	due, err := c.cfg.Store.DueAudioChecks(ctx, now, c.cfg.Batch)
	if err != nil {
		return 0, more, fmt.Errorf("audiocheck: listing due checks: %w", err)
	}
	byHost := map[string][]relay.AudioCheck{}
	var order []string
	for _, d := range due {
		h := hostOf(d.AudioURL)
		if len(byHost[h]) == c.cfg.HostBatch {
			continue
		}
		if byHost[h] == nil {
			order = append(order, h)
		}
		byHost[h] = append(byHost[h], d)
	}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		errs   []error
		global = make(chan struct{}, c.cfg.Concurrency)
	)
	for _, h := range order {
		wg.Go(func() {
			for _, d := range byHost[h] {
				release, err := c.hosts.acquire(ctx, h)
				if err != nil {
					return
				}
				select {
				case global <- struct{}{}:
				case <-ctx.Done():
					release()
					return
				}
				wg.Go(func() {
					defer func() { <-global; release() }()
					if err := c.check(ctx, d); err != nil {
						mu.Lock()
						errs = append(errs, err)
						mu.Unlock()
						return
					}
					mu.Lock()
					checked++
					mu.Unlock()
				})
			}
		})
	}
	wg.Wait()
	return checked, more, errors.Join(errs...)
}

// check runs one check and stores its outcome.
func (c *Checker) check(ctx context.Context, d relay.AudioCheck) error {
	cctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	start := time.Now()
	status, err := c.probe(cctx, d.AudioURL)
	cancel()
	if ctx.Err() != nil {
		return nil // shutting down: not an answer
	}
	c.cfg.Metrics.duration.Observe(time.Since(start).Seconds())
	r := classify(status, err)
	c.cfg.Metrics.checks.WithLabelValues(r.String()).Inc()
	next := c.cfg.Schedule.next(d, r, c.cfg.Now(), c.jitter)
	changed, serr := c.cfg.Store.SaveAudioCheck(ctx, next)
	if serr != nil {
		return fmt.Errorf("audiocheck: saving %s: %w", d.URI(), serr)
	}
	if changed {
		to := "shown"
		if next.Status == relay.AudioMissing {
			to = "hidden"
		}
		c.cfg.Metrics.changes.WithLabelValues(to).Inc()
		c.cfg.Log.InfoContext(ctx, "audio check changed a track's visibility", "uri", d.URI(), "to", to, "status", status)
	}
	if r == resultUnreachable {
		c.cfg.Log.DebugContext(ctx, "audio unreachable", "uri", d.URI(), "status", status, "err", err)
	}
	return nil
}

// hostOf is the politeness key of an audio URL: its host name, lowered,
// port aside. A URL that does not parse gets its own key (and fails its
// check as unreachable).
func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		return "?"
	}
	// A fully qualified name (a trailing dot) is the same host: without
	// this, a record could double its per-host bound against a server.
	return strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
}
