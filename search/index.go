package search

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/mapping"

	"github.com/relaymusic/relay"
)

// Internal (non-document) keys, written in the same batch as the documents
// they describe.
var (
	keyOutboxSeq = []byte("outboxSeq")
	// keyArtistSeq is the outbox seq up to which artist documents reflect
	// the store (at most keyOutboxSeq: see refreshArtists). An index made
	// before it has none, and rebuilt its artists in every batch, so a
	// missing key reads as keyOutboxSeq.
	keyArtistSeq = []byte("artistSeq")
	keyMapping   = []byte("relayMapping")
)

// ErrMappingChanged is returned by Open for an index built with other
// analysis rules than this build's: it must be rebuilt.
var ErrMappingChanged = errors.New("search index built with another mapping")

// Index is relay's search index: a Bleve index holding the visible tracks,
// and the outbox sequence it has applied.
type Index struct {
	bi bleve.Index
	// writeMu serialises Apply so that reading AppliedSeq and writing the
	// batch that advances it cannot interleave.
	writeMu sync.Mutex
	snaps   *snapshotCache
	// running holds a slot per search in progress (see Search).
	running chan struct{}
	// metrics are OpenCurrent's, or unregistered ones after Open.
	metrics *Metrics
	// artists is the deferred rebuild of artist documents (artists.go),
	// guarded by writeMu.
	artists artistState
}

// Open opens the index at dir, creating it with relay's mapping if absent.
func Open(dir string) (*Index, error) {
	bi, err := openBleve(dir)
	if errors.Is(err, bleve.ErrorIndexPathDoesNotExist) {
		// A Rebuild interrupted between its two renames leaves the last good
		// index at dir.old; an empty index at seq 0 would silently miss
		// every track not in the outbox.
		if _, serr := os.Stat(dir + ".old"); serr == nil {
			return nil, fmt.Errorf("search: open index %s: missing, but %s.old exists (interrupted reindex): run `relay reindex`", dir, dir)
		}
		bi, err = createBleve(dir, false)
		if err == nil {
			// Mark it as ours, at seq 0, so a later Open can check the mapping.
			b := bi.NewBatch()
			b.SetInternal(keyMapping, []byte(MappingVersion))
			b.SetInternal(keyOutboxSeq, encodeSeq(0))
			if err = bi.Batch(b); err != nil {
				_ = bi.Close()
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("search: open index %s: %w", dir, err)
	}
	v, err := bi.GetInternal(keyMapping)
	if err == nil && string(v) != MappingVersion {
		err = fmt.Errorf("%w: index mapping is %q, this build needs %q: run `relay reindex`", ErrMappingChanged, v, MappingVersion)
	}
	if err != nil {
		_ = bi.Close()
		return nil, fmt.Errorf("search: open index %s: %w", dir, err)
	}
	configureSearcher()
	ix := &Index{
		bi:      bi,
		snaps:   newSnapshotCache(snapshotTTL, snapshotMaxBytes),
		running: make(chan struct{}, 2*runtime.GOMAXPROCS(0)),
		metrics: NewMetrics(nil),
		artists: newArtistState(),
	}
	// With artists as current as tracks, the empty pending set is all of
	// it; behind, the entries after ArtistSeq name what a crash lost.
	applied, err := ix.AppliedSeq()
	var at int64
	if err == nil {
		at, err = ix.ArtistSeq()
	}
	ix.artists.complete = err == nil && at >= applied
	return ix, nil
}

// openBleve opens an existing index for normal, crash-safe use. Rebuild
// creates indexes with unsafe_batch, and Bleve keeps the creation config in
// index_meta.json, so it is overridden here on every open.
//
// A damaged segment can make zap index out of range while scorch loads it
// (seen with bytes flipped inside a .zap file); that happens in this
// goroutine, before scorch starts any of its own, so it is recovered into
// an error and OpenCurrent can rebuild. The root.bolt handle scorch had
// opened then leaks, which is harmless once the index is moved aside.
func openBleve(dir string) (bi bleve.Index, err error) {
	defer func() {
		if r := recover(); r != nil {
			bi, err = nil, fmt.Errorf("%w: panic while loading: %v", errDamaged, r)
		}
	}()
	return bleve.OpenUsing(dir, map[string]any{"unsafe_batch": false})
}

// errDamaged marks an index that Bleve could not load or read without
// panicking.
var errDamaged = errors.New("search index damaged")

// createBleve creates a scorch index with relay's mapping at dir, which must
// not exist.
func createBleve(dir string, unsafeBatch bool) (bleve.Index, error) {
	m, err := newMapping()
	if err != nil {
		return nil, err
	}
	var cfg map[string]any
	if unsafeBatch {
		cfg = map[string]any{"unsafe_batch": true}
	}
	return bleve.NewUsing(dir, m, scorch.Name, scorch.Name, cfg)
}

// Close closes the index.
func (ix *Index) Close() error {
	if err := ix.bi.Close(); err != nil {
		return fmt.Errorf("search: close index: %w", err)
	}
	return nil
}

// Mapping is the index's mapping, as stored in the index.
func (ix *Index) Mapping() mapping.IndexMapping { return ix.bi.Mapping() }

// AppliedSeq is the last outbox sequence applied (0 for a new index).
func (ix *Index) AppliedSeq() (int64, error) {
	v, err := ix.bi.GetInternal(keyOutboxSeq)
	if err != nil {
		return 0, fmt.Errorf("search: read applied seq: %w", err)
	}
	seq, err := decodeSeq(v)
	if err != nil {
		return 0, fmt.Errorf("search: read applied seq: %w", err)
	}
	return seq, nil
}

// ArtistSeq is the outbox sequence up to which artist documents reflect
// the store: AppliedSeq when the follower is caught up, behind it while
// CatchUp defers their rebuild (never by more than artistInterval of
// catching up, or maxPendingArtists accounts).
func (ix *Index) ArtistSeq() (int64, error) {
	v, err := ix.bi.GetInternal(keyArtistSeq)
	if err != nil {
		return 0, fmt.Errorf("search: read artist seq: %w", err)
	}
	if v == nil {
		return ix.AppliedSeq()
	}
	seq, err := decodeSeq(v)
	if err != nil {
		return 0, fmt.Errorf("search: read artist seq: %w", err)
	}
	return seq, nil
}

// PrunableSeq is the highest outbox sequence the index no longer needs:
// min(AppliedSeq, ArtistSeq), since after a restart the entries after
// ArtistSeq are read again to find the artists still to rebuild. Whatever
// prunes the outbox must prune only up to it. Both sequences only grow
// while the index is open, so a value read before a batch lands is still
// safe after it.
func (ix *Index) PrunableSeq() (int64, error) {
	a, err := ix.ArtistSeq()
	if err != nil {
		return 0, err
	}
	applied, err := ix.AppliedSeq()
	if err != nil {
		return 0, err
	}
	return min(a, applied), nil
}

func encodeSeq(seq int64) []byte { return strconv.AppendInt(nil, seq, 10) }

func decodeSeq(v []byte) (int64, error) {
	if len(v) == 0 {
		return 0, nil
	}
	seq, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil || seq < 0 {
		return 0, fmt.Errorf("bad stored seq %q", v)
	}
	return seq, nil
}

// Apply indexes the changes in one Bleve batch (Change.Track nil deletes the
// doc Change.URI, else the track is indexed) and stores the highest Seq in
// the same batch, so documents and sequence are never out of step. Changes
// must be in strictly increasing seq order; those at or below AppliedSeq are
// skipped, which makes replays after a crash harmless. Apply touches track
// documents only; CatchUp, which has the store, also brings the artist
// documents of the accounts the changes name up to date (refreshArtists).
func (ix *Index) Apply(ctx context.Context, changes []relay.Change) error {
	return ix.apply(ctx, changes, nil, false)
}

// apply is Apply, and when src is not nil the accounts the applied changes
// name join the pending artists, which are rebuilt from src in the same
// batch when due (refreshArtists); caughtUp says these are the last
// entries src has, which makes them due.
func (ix *Index) apply(ctx context.Context, changes []relay.Change, src Source, caughtUp bool) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("search: apply: %w", err)
	}
	ix.writeMu.Lock()
	defer ix.writeMu.Unlock()

	applied, err := ix.AppliedSeq()
	if err != nil {
		return err
	}
	b := ix.bi.NewBatch()
	last, top := int64(-1), applied
	for _, c := range changes {
		if c.Seq <= last {
			return fmt.Errorf("search: apply: seq %d follows %d: changes out of order", c.Seq, last)
		}
		last = c.Seq
		if c.Seq <= applied {
			continue
		}
		top = c.Seq
		id := c.URI.String()
		if c.Track == nil {
			b.Delete(id)
			continue
		}
		// The doc id must be the track's own URI, or deletes of c.URI would
		// miss it and the index would drift from SQLite.
		if tid := c.Track.URI().String(); tid != id {
			return fmt.Errorf("search: apply: change %d is for %s but carries track %s", c.Seq, id, tid)
		}
		if err := b.Index(id, document(c.Track)); err != nil {
			return fmt.Errorf("search: apply: index %s: %w", id, err)
		}
	}
	if top == applied {
		return nil
	}
	var written func()
	if src != nil {
		if written, err = ix.refreshArtists(ctx, b, src, touched(changes, applied), applied, top, caughtUp); err != nil {
			return fmt.Errorf("search: apply up to seq %d: %w", top, err)
		}
	}
	b.SetInternal(keyOutboxSeq, encodeSeq(top))
	if err := ix.bi.Batch(b); err != nil {
		// A failed batch may still have landed (scorch introduces the
		// segment before it persists it): the next rebuild of artists
		// reads the outbox after ArtistSeq again rather than trust the
		// pending set.
		ix.artists.complete = false
		return fmt.Errorf("search: apply up to seq %d: %w", top, err)
	}
	if written != nil {
		written()
	}
	return nil
}

// DocCount is the number of indexed (visible) tracks; artist documents
// are not counted (ArtistCount).
func (ix *Index) DocCount() (uint64, error) {
	n, err := ix.bi.DocCount()
	if err != nil {
		return 0, fmt.Errorf("search: doc count: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), searchTimeout)
	defer cancel()
	a, err := ix.ArtistCount(ctx)
	if err != nil {
		return 0, fmt.Errorf("search: doc count: %w", err)
	}
	return n - min(a, n), nil
}
