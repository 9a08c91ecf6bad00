package search

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search/query"

	"github.com/relaymusic/relay"
)

// Store is what the index needs of the store to open up to date or to be
// rebuilt: the outbox, and every visible track.
type Store interface {
	Outbox
	// OutboxFloor is the lowest sequence still in the outbox (0: empty).
	OutboxFloor(ctx context.Context) (int64, error)
	// VisibleTracks iterates over every visible track (live, account
	// active) with its searchable fields, for a rebuild; the rebuild reads
	// OutboxSeq first, so a change committed meanwhile is replayed after.
	VisibleTracks(ctx context.Context) iter.Seq2[*relay.Track, error]
}

// OpenCurrent opens the index at dir so that following st's outbox brings it
// up to date, rebuilding it from st first when that cannot work: an index
// that fails to open or to read back (damaged: moved aside first, see
// moveAside), one built under other analysis rules, one missing entries
// already pruned from the outbox (new, lost, or left behind, after its
// AppliedSeq or its ArtistSeq), or one ahead
// of the store (the database was replaced). SQLite is the truth, so none of
// these stops the service; each rebuild is counted in
// relay_index_rebuilds_total by reason, on m (nil: counted nowhere), which
// the index keeps for its follower's lag.
func OpenCurrent(ctx context.Context, dir string, st Store, m *Metrics) (*Index, error) {
	if m == nil {
		m = NewMetrics(nil)
	}
	ix, err := openCurrent(ctx, dir, st, m)
	if err != nil {
		return nil, err
	}
	ix.metrics = m
	return ix, nil
}

func openCurrent(ctx context.Context, dir string, st Store, m *Metrics) (*Index, error) {
	ix, err := openVerified(dir)
	switch {
	case err == nil:
	case errors.Is(err, ErrMappingChanged):
		slog.WarnContext(ctx, "search index was built with other analysis rules; rebuilding it from SQLite", "err", err)
		return rebuildAndOpen(ctx, dir, st, m, "mapping")
	case ctx.Err() != nil:
		return nil, err
	default:
		aside, merr := moveAside(dir, time.Now())
		if merr != nil {
			return nil, fmt.Errorf("search: index %s cannot be opened (%v), nor moved aside: %w", dir, err, merr)
		}
		slog.WarnContext(ctx, "search index cannot be opened or read; moved aside, rebuilding it from SQLite",
			"err", err, "moved_to", aside)
		return rebuildAndOpen(ctx, dir, st, m, "damaged")
	}
	applied, err := ix.AppliedSeq()
	var artists, floor, head int64
	if err == nil {
		artists, err = ix.ArtistSeq()
	}
	if err == nil {
		floor, err = st.OutboxFloor(ctx)
	}
	if err == nil {
		head, err = st.OutboxSeq(ctx)
	}
	if err != nil {
		_ = ix.Close()
		return nil, fmt.Errorf("search: checking the index against the outbox: %w", err)
	}
	// The artists still to rebuild are found again in the entries after
	// ArtistSeq: those must be in the outbox too.
	if canCatchUp(applied, floor, head) && canCatchUp(min(artists, applied), floor, head) {
		return ix, nil
	}
	slog.WarnContext(ctx, "search index cannot catch up from the outbox; rebuilding it from SQLite",
		"applied_seq", applied, "artist_seq", artists, "outbox_floor", floor, "outbox_head", head)
	if err := ix.Close(); err != nil {
		return nil, fmt.Errorf("search: closing index: %w", err)
	}
	return rebuildAndOpen(ctx, dir, st, m, "behind")
}

func rebuildAndOpen(ctx context.Context, dir string, st Store, m *Metrics, reason string) (*Index, error) {
	if err := RebuildFrom(ctx, dir, st); err != nil {
		return nil, err
	}
	m.rebuilds.WithLabelValues(reason).Inc()
	// A freshly built index that fails too is not retried: that is a bug
	// or a broken disk, and looping would hide it.
	return openVerified(dir)
}

// openVerified opens the index at dir and reads it back cheaply: the
// applied sequence, the document count, and one term looked up in every
// text field, which loads each segment's dictionaries. A damaged segment
// that scorch skips or that fails on first read is caught here, at start,
// instead of in the first user's search.
func openVerified(dir string) (*Index, error) {
	ix, err := Open(dir)
	if err != nil {
		return nil, err
	}
	if err := ix.verify(); err != nil {
		_ = ix.Close()
		return nil, fmt.Errorf("search: verify index %s: %w", dir, err)
	}
	return ix, nil
}

func (ix *Index) verify() (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: panic while reading: %v", errDamaged, r)
		}
	}()
	if _, err := ix.AppliedSeq(); err != nil {
		return err
	}
	if _, err := ix.DocCount(); err != nil {
		return err
	}
	var probes []query.Query
	for _, f := range append(slices.Clone(textFields), artistFields...) {
		tq := query.NewTermQuery("a")
		tq.SetField(f.name)
		probes = append(probes, tq)
	}
	req := bleve.NewSearchRequestOptions(query.NewDisjunctionQuery(probes), 1, 0, false)
	ctx, cancel := context.WithTimeout(context.Background(), searchTimeout)
	defer cancel()
	if _, err := ix.bi.SearchInContext(ctx, req); err != nil {
		return fmt.Errorf("%w: probe search: %v", errDamaged, err)
	}
	return nil
}

// moveAside renames a damaged index at dir to dir.damaged-<UTC time> for
// an operator to inspect, first removing any index moved aside before, so
// repeated damage cannot fill the disk. It returns the new name, or "" if
// nothing was at dir.
func moveAside(dir string, now time.Time) (string, error) {
	if _, err := os.Lstat(dir); errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	parent, base := filepath.Split(filepath.Clean(dir))
	if parent == "" {
		parent = "."
	}
	entries, err := os.ReadDir(parent)
	if err != nil {
		return "", fmt.Errorf("search: list %s: %w", parent, err)
	}
	prefix := base + damagedSuffix
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			if err := os.RemoveAll(filepath.Join(parent, e.Name())); err != nil {
				return "", fmt.Errorf("search: remove earlier damaged index: %w", err)
			}
		}
	}
	aside := filepath.Join(parent, prefix+now.UTC().Format("20060102T150405Z"))
	if err := os.Rename(dir, aside); err != nil {
		return "", fmt.Errorf("search: move damaged index aside: %w", err)
	}
	return aside, nil
}

const damagedSuffix = ".damaged-"

// canCatchUp reports whether an index at applied reaches head by replaying
// the outbox entries floor..head. Pure.
func canCatchUp(applied, floor, head int64) bool {
	if applied == head {
		return true
	}
	// An empty outbox (floor 0) below head means everything was applied
	// and pruned: only an index at head is current.
	return floor > 0 && applied >= floor-1 && applied <= head
}

// RebuildFrom builds the index at dir from every visible track of st (the
// index must not be open).
func RebuildFrom(ctx context.Context, dir string, st Store) error {
	start := time.Now()
	// The outbox head is read first: changes made while tracks are listed
	// replay on top of the rebuilt index.
	seq, err := st.OutboxSeq(ctx)
	if err != nil {
		return fmt.Errorf("search: rebuild: %w", err)
	}
	if err := Rebuild(ctx, dir, seq, st.VisibleTracks(ctx), st); err != nil {
		return err
	}
	slog.InfoContext(ctx, "search index rebuilt", "seq", seq, "took", time.Since(start).Round(time.Millisecond))
	return nil
}
