package plays

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
)

// Store is where counted plays go (sqlite.Store): each count is added to
// its track's hour (count += n), all of a call in one transaction.
type Store interface {
	AddPlays(ctx context.Context, counts []relay.PlayCount) error
	// PrunePlays deletes the counts of hours before before.
	PrunePlays(ctx context.Context, before int64) (int64, error)
}

// Retention is how many hours of counts the store keeps: the longest
// trending window (30 days) and a day more for cursors pinned to an
// earlier hour.
const Retention = 31 * 24

const (
	// DefaultFlushEvery is how often counted plays are written.
	DefaultFlushEvery = 5 * time.Second
	// FlushTimeout bounds one flush; it is less than Settle, which is
	// what keeps closed hours closed (doc.go).
	FlushTimeout = 30 * time.Second
	// Settle is how long past its end an hour is still taken as open:
	// trending ranks only the hours before OpenHour.
	Settle = time.Minute
	// DefaultMaxPending bounds the (track, hour) counts waiting for a
	// flush; past it a play of a track not already waiting is dropped
	// (counted in relay_plays_total{result="dropped"}). Only a store that
	// keeps failing fills it.
	DefaultMaxPending = 1 << 16
)

// OpenHour is the first hour (unix seconds / 3600) not complete at now:
// the hour in progress, or the one just ended, for Settle past its end.
// Every hour before it is closed: no flush writes to it any more.
func OpenHour(now time.Time) int64 { return hourOf(now.Add(-Settle)) }

func hourOf(t time.Time) int64 { return t.Unix() / relay.HourSeconds }

// Config configures a Counter.
type Config struct {
	Store   Store
	Log     *slog.Logger
	Metrics *Metrics // nil: unregistered ones
	// FlushEvery is how often Run flushes (default DefaultFlushEvery).
	FlushEvery time.Duration
	// MaxListens bounds the dedupe memory (default DefaultMaxListens).
	MaxListens int
	// MaxPending bounds the counts waiting (default DefaultMaxPending).
	MaxPending int
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Counter decides which plays count and writes them to the store in
// batches, so that a play never waits on a write. Safe for concurrent use.
type Counter struct {
	store Store
	// prunedAt is the hour counts were last pruned in (prune).
	prunedAt   int64
	log        *slog.Logger
	metrics    *Metrics
	every      time.Duration
	maxPending int
	now        func() time.Time
	keys       *Keys
	seen       *dedupe

	mu      sync.Mutex
	pending map[trackHour]int64
	// flushing serializes flushes (Run's and a shutdown's Flush).
	flushing sync.Mutex
}

type trackHour struct {
	did        syntax.DID
	collection syntax.NSID
	rkey       syntax.RecordKey
	hour       int64
}

// NewCounter returns a Counter; Run writes what it counts.
func NewCounter(cfg Config) *Counter {
	c := &Counter{
		store: cfg.Store, log: cfg.Log, metrics: cfg.Metrics, every: cfg.FlushEvery,
		maxPending: cfg.MaxPending, now: cfg.Now, keys: NewKeys(), seen: newDedupe(cfg.MaxListens),
		pending: map[trackHour]int64{},
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	if c.metrics == nil {
		c.metrics = NewMetrics(nil)
	}
	if c.every <= 0 {
		c.every = DefaultFlushEvery
	}
	if c.maxPending <= 0 {
		c.maxPending = DefaultMaxPending
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c
}

// Play is a play of the track (did, collection, rkey) by the client at
// addr (an invalid addr: one shared unknown listener). It reports whether
// it counted: the first of this listener and track in Window. It never
// blocks on the store.
func (c *Counter) Play(addr netip.Addr, did syntax.DID, collection syntax.NSID, rkey syntax.RecordKey) bool {
	now := c.now()
	var raw []byte
	if addr.IsValid() {
		// An IPv6 client holds a /64 at least: each of its 2^64 addresses
		// is one listener, not a new one.
		if addr.Is6() && !addr.Is4In6() {
			addr = netip.PrefixFrom(addr, 64).Masked().Addr()
		}
		b := addr.As16()
		raw = b[:]
	}
	id := c.keys.ID(raw, now)
	if !c.seen.first(id, relay.TrackURI(did, collection, rkey).String(), now) {
		c.metrics.plays.WithLabelValues(resultRepeat).Inc()
		return false
	}
	k := trackHour{did: did, collection: collection, rkey: rkey, hour: hourOf(now)}
	c.mu.Lock()
	_, waiting := c.pending[k]
	full := !waiting && len(c.pending) >= c.maxPending
	if !full {
		c.pending[k]++
	}
	c.mu.Unlock()
	if full {
		c.metrics.plays.WithLabelValues(resultDropped).Inc()
		return true
	}
	c.metrics.plays.WithLabelValues(resultCounted).Inc()
	return true
}

// UnknownTrack counts a play asked of a track not shown (or without
// playable audio).
func (c *Counter) UnknownTrack() { c.metrics.plays.WithLabelValues(resultUnknownTrack).Inc() }

// Run flushes every FlushEvery until ctx is done, then once more.
func (c *Counter) Run(ctx context.Context) error {
	t := time.NewTicker(c.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), FlushTimeout)
			defer cancel()
			if err := c.Flush(fctx); err != nil {
				return fmt.Errorf("flushing plays at shutdown: %w", err)
			}
			return nil
		case <-t.C:
			// A failure is logged and counted; its counts wait for the next.
			_ = c.Flush(ctx)
			c.prune(ctx)
		}
	}
}

// Flush writes the counts waiting, in one store call bounded by
// FlushTimeout. A count of an hour already over is booked to the hour in
// progress, so closed hours never change (doc.go). On failure the counts
// are kept for the next flush.
func (c *Counter) Flush(ctx context.Context) error {
	c.flushing.Lock()
	defer c.flushing.Unlock()
	c.metrics.remembered.Set(float64(c.seen.len()))
	c.mu.Lock()
	taken := c.pending
	c.pending = map[trackHour]int64{}
	c.mu.Unlock()
	if len(taken) == 0 {
		return nil
	}
	hour := hourOf(c.now())
	booked := map[trackHour]int64{}
	for k, n := range taken {
		if k.hour < hour {
			k.hour = hour
		}
		booked[k] += n
	}
	counts := make([]relay.PlayCount, 0, len(booked))
	for k, n := range booked {
		counts = append(counts, relay.PlayCount{DID: k.did, Collection: k.collection, RKey: k.rkey, Hour: k.hour, N: n})
	}
	ctx, cancel := context.WithTimeout(ctx, FlushTimeout)
	defer cancel()
	if err := c.store.AddPlays(ctx, counts); err != nil {
		c.metrics.flushErrors.Inc()
		c.mu.Lock()
		for k, n := range booked {
			c.pending[k] += n
		}
		c.mu.Unlock()
		c.log.WarnContext(ctx, "writing plays failed; kept for the next flush", "tracks", len(booked), "err", err)
		return fmt.Errorf("writing %d play counts: %w", len(counts), err)
	}
	return nil
}

// prune deletes counts past Retention, once per hour.
func (c *Counter) prune(ctx context.Context) {
	hour := c.now().Unix() / relay.HourSeconds
	if hour == c.prunedAt {
		return
	}
	n, err := c.store.PrunePlays(ctx, hour-Retention)
	if err != nil {
		c.log.WarnContext(ctx, "plays: pruning old counts", "error", err)
		return
	}
	c.prunedAt = hour
	if n > 0 {
		c.log.InfoContext(ctx, "plays: pruned old counts", "rows", n)
	}
}
