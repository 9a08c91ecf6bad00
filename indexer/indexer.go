package indexer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/bluesky-social/jetstream/pkg/models"

	"github.com/relaymusic/relay"
	"github.com/relaymusic/relay/validate"
)

// Store is what the indexer needs of the store. Its contract, which
// storetest.Run checks of every backend:
//   - atomic with the cursor: ApplyBatch applies the events in order, all or
//     nothing, and stores cursor (when > 0) in the same transaction, so a
//     crash loses no event it acknowledged; Cursor returns the last stored
//     cursor, 0 before any;
//   - the rev rule: a put or delete whose rev is not newer than the one
//     stored for its at-uri (did, collection, rkey) changes nothing (a
//     track is its at-uri: the same rkey in two collections is two
//     tracks); a delete leaves a tombstone
//     with its rev, so a create at that rev or older never resurrects the
//     track, and a newer one does;
//   - at-least-once safe: applying an event again changes nothing and is
//     counted Stale, so the indexer may resume before its cursor;
//   - account visibility: after an account event with active=false the
//     account's tracks, those that arrive later included, are in no query
//     until active=true shows them again; status "deleted" removes them for
//     good. An identity event with a handle sets the artist's handle.
type Store interface {
	ApplyBatch(ctx context.Context, events []relay.Event, cursor int64) (relay.ApplyResult, error)
	Cursor(ctx context.Context) (int64, error)
}

// Config configures an Indexer. Zero values take the defaults.
type Config struct {
	Store      Store
	Subscriber SubscriberConfig
	// BatchSize, BatchBytes and BatchInterval bound a transaction: it
	// commits when any is reached. A backlog (a replay, or catching up
	// after downtime) commits in batches of BatchSize; live traffic by the
	// interval. 10000 against
	// 1000: a 100k replay into SQLite in 11-14 s against 19-21 s, and
	// searchable 3.3-3.9k against 3.1-3.3k events/s, each commit waking
	// the search follower for fewer, larger batches (BenchmarkIngest,
	// alternated), for about 30 MB more peak RSS.
	BatchSize     int           // default 10000
	BatchInterval time.Duration // default 200ms
	// BatchBytes bounds a batch by the size of its events (itemBytes), so
	// that a backlog of records at validate.MaxRecordBytes commits in
	// batches of a few hundred, not 10000 (640 MB). The reader parses
	// ahead by at most 2*BatchBytes (plus one event) held between the
	// socket and the commit (TestBatchBytesBound).
	BatchBytes int64 // default 16 MiB
	// Retention is how far back the upstream keeps events; a stored cursor
	// older than that means events were missed (the public hosts keep about
	// 36 hours and silently clamp an older cursor).
	Retention time.Duration // default 36h
	// StartCursor is where to start when the store has no cursor yet
	// (0: the live tip).
	StartCursor int64
	Log         *slog.Logger
	// Committed, if set, is called after every commit (to wake the search
	// index's follower).
	Committed func()
	// Metrics are the ingest series (NewMetrics), shared with the
	// Subscriber; nil: unregistered ones.
	Metrics *Metrics
}

// Indexer consumes jetstream into the store.
type Indexer struct {
	cfg Config
	sub *Subscriber
	log *slog.Logger
	rej *rejectLog

	mu      sync.Mutex
	cursor  int64 // last committed time_us
	warning string
}

// New returns an Indexer; Run starts it.
func New(cfg Config) *Indexer {
	if cfg.BatchSize == 0 {
		cfg.BatchSize = 10000
	}
	if cfg.BatchBytes == 0 {
		cfg.BatchBytes = 16 << 20
	}
	if cfg.BatchInterval == 0 {
		cfg.BatchInterval = 200 * time.Millisecond
	}
	if cfg.Retention == 0 {
		cfg.Retention = 36 * time.Hour
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics(nil)
	}
	if cfg.Subscriber.Metrics == nil {
		cfg.Subscriber.Metrics = cfg.Metrics
	}
	if len(cfg.Subscriber.Collections) == 0 {
		for _, c := range validate.Collections() {
			cfg.Subscriber.Collections = append(cfg.Subscriber.Collections, c.String())
		}
	}
	sub := NewSubscriber(cfg.Subscriber, cfg.Log)
	// One limiter for every reason, the wire's and the records', so that
	// "a line a minute per reason" holds whichever side rejects.
	return &Indexer{cfg: cfg, sub: sub, log: cfg.Log, rej: sub.rej}
}

// Status is the ingest state shown on /xrpc/_health.
type Status struct {
	Host      string
	Connected bool
	// Cursor is the time_us of the last committed event (0: none yet).
	Cursor int64
	// Warning is set when events are known to be missed.
	Warning string
}

// Status reports the ingest state.
func (ix *Indexer) Status() Status {
	ss := ix.sub.Status()
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return Status{Host: ss.Host, Connected: ss.Connected, Cursor: ix.cursor, Warning: ix.warning}
}

// item is one received event, parsed in the reader's goroutine.
type item struct {
	timeUS int64
	ev     relay.Event
	err    error
	bytes  int64 // itemBytes, held from the reader's side until committed
}

// maxItemBytes is the most itemBytes can be: a record is smaller than its
// message, MaxEventBytes.
const maxItemBytes = 1<<10 + 2*MaxEventBytes

// itemBytes is what an event holds in memory, roughly: its record twice
// (the bytes, and the fields parsed out of them) and a kilobyte for the
// rest.
func itemBytes(ev relay.Event) int64 {
	n := int64(1 << 10)
	if ev.Track != nil {
		n += 2 * int64(len(ev.Track.Record))
	}
	return n
}

// Run consumes until ctx ends, then commits what it holds and returns nil. It
// returns an error only when the store cannot be read at start.
func (ix *Indexer) Run(ctx context.Context) error {
	cursor, err := ix.cfg.Store.Cursor(ctx)
	if err != nil {
		return fmt.Errorf("reading stored cursor: %w", err)
	}
	if cursor == 0 {
		cursor = ix.cfg.StartCursor
	}
	ix.mu.Lock()
	ix.cursor = cursor
	ix.mu.Unlock()
	ix.checkCursorAge(cursor, time.Now())

	// One batch parsed ahead while the last one is applied: a buffer of 4
	// batches cost 50 MB more peak RSS at 10000 for no faster replay. held
	// bounds the same by bytes: the reader takes an event's itemBytes
	// before handing it over, and flush gives them back once committed.
	items := make(chan item, ix.cfg.BatchSize)
	held := semaphore.NewWeighted(2*ix.cfg.BatchBytes + maxItemBytes)
	subCtx, stopSub := context.WithCancel(ctx)
	go func() {
		defer close(items)
		// It ends only when subCtx does (its handler never fails otherwise).
		_ = ix.sub.Run(subCtx, cursor, func(evt *models.Event) error {
			ix.cfg.Metrics.events.WithLabelValues(eventLabels(evt.Kind, commitOp(evt))).Inc()
			ev, err := ParseEvent(evt)
			it := item{timeUS: evt.TimeUS, ev: ev, err: err, bytes: itemBytes(ev)}
			// The tick commits whatever a batch holds, so the bytes come
			// back even when no batch reaches BatchBytes.
			if err := held.Acquire(subCtx, it.bytes); err != nil {
				return err
			}
			select {
			case items <- it:
				return nil
			case <-subCtx.Done():
				held.Release(it.bytes)
				return subCtx.Err()
			}
		})
	}()
	defer stopSub()

	batch := make([]item, 0, ix.cfg.BatchSize)
	var batchBytes int64
	tick := time.NewTicker(ix.cfg.BatchInterval)
	defer tick.Stop()
	// A batch that could not be committed before ctx ended must not be
	// followed by a later one: that would store a cursor past its events.
	for {
		select {
		case it, ok := <-items:
			if !ok {
				// The reader stopped: ctx ended.
				ix.finalFlush(ctx, batch)
				return nil
			}
			batch = append(batch, it)
			batchBytes += it.bytes
			if len(batch) >= ix.cfg.BatchSize || batchBytes >= ix.cfg.BatchBytes {
				if !ix.flush(ctx, batch) {
					return nil
				}
				held.Release(batchBytes)
				batch, batchBytes = batch[:0], 0
			}
		case <-tick.C:
			if len(batch) > 0 {
				if !ix.flush(ctx, batch) {
					return nil
				}
				held.Release(batchBytes)
				batch, batchBytes = batch[:0], 0
			}
			ix.updateCursorAge()
		case <-ctx.Done():
			// Stop the reader, keep what it already handed over, commit.
			stopSub()
			for it := range items {
				batch = append(batch, it)
			}
			ix.finalFlush(ctx, batch)
			return nil
		}
	}
}

// finalFlushTimeout bounds the commit at shutdown: a store that keeps
// failing must not hold the process forever (the events replay from the
// stored cursor at the next start).
const finalFlushTimeout = 30 * time.Second

func (ix *Indexer) finalFlush(ctx context.Context, batch []item) {
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalFlushTimeout)
	defer cancel()
	ix.flush(fctx, batch)
}

// flush applies a batch in one transaction with its cursor. A store error is
// retried with backoff until ctx ends: losing the batch would lose events.
// It reports whether the batch was committed (false only once ctx ended).
func (ix *Indexer) flush(ctx context.Context, batch []item) bool {
	if len(batch) == 0 {
		return true
	}
	var cursor int64
	events := make([]relay.Event, 0, len(batch))
	for _, it := range batch {
		cursor = max(cursor, it.timeUS)
		if it.err != nil {
			var rej *validate.RejectError
			if errors.As(it.err, &rej) {
				ix.cfg.Metrics.rejected.WithLabelValues(rej.Reason).Inc()
				ix.rej.Warn(rej.Reason, "event rejected", "uri", rej.Subject, "err", rej.Err)
			} else {
				ix.cfg.Metrics.rejected.WithLabelValues(ReasonOther).Inc()
				ix.rej.Warn(ReasonOther, "event rejected", "err", it.err)
			}
			if it.ev.Kind == 0 {
				continue
			}
			// An invalid record still replaces the version it updates.
		}
		events = append(events, it.ev)
	}
	backoff := 100 * time.Millisecond
	for {
		start := time.Now()
		res, err := ix.cfg.Store.ApplyBatch(ctx, events, cursor)
		if err == nil {
			ix.cfg.Metrics.batchSeconds.Observe(time.Since(start).Seconds())
			ix.cfg.Metrics.batchEvents.Observe(float64(len(batch)))
			ix.cfg.Metrics.applied.Add(float64(res.Applied))
			ix.cfg.Metrics.stale.Add(float64(res.Stale))
			ix.mu.Lock()
			ix.cursor = max(ix.cursor, cursor)
			ix.mu.Unlock()
			ix.updateCursorAge()
			if ix.cfg.Committed != nil {
				ix.cfg.Committed()
			}
			return true
		}
		ix.log.Error("applying batch failed, retrying", "events", len(events), "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			ix.log.Error("batch not committed at shutdown; it replays from the stored cursor on restart", "events", len(events))
			return false
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}

// checkCursorAge flags a stored cursor older than the upstream keeps: the
// upstream will start from its oldest event and the gap is lost.
func (ix *Indexer) checkCursorAge(cursor int64, now time.Time) {
	if cursor == 0 {
		return
	}
	age := now.Sub(time.UnixMicro(cursor))
	if age <= ix.cfg.Retention {
		ix.cfg.Metrics.cursorTooOld.Set(0)
		return
	}
	msg := fmt.Sprintf("stored jetstream cursor is %s old, older than the upstream keeps (%s): events in between were missed; run `relay backfill` to recover them",
		age.Round(time.Minute), ix.cfg.Retention)
	ix.log.Error(msg, "cursor", cursor)
	ix.cfg.Metrics.cursorTooOld.Set(1)
	ix.mu.Lock()
	ix.warning = msg
	ix.mu.Unlock()
}

func (ix *Indexer) updateCursorAge() {
	ix.mu.Lock()
	c := ix.cursor
	ix.mu.Unlock()
	if c > 0 {
		ix.cfg.Metrics.cursorAge.Set(time.Since(time.UnixMicro(c)).Seconds())
	}
}

func commitOp(evt *models.Event) string {
	if evt.Commit != nil {
		return evt.Commit.Operation
	}
	return ""
}
