package search

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"os"
	"slices"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/index/scorch/mergeplan"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
)

const rebuildBatch = 1000

// Rebuild builds a fresh index at dir from all visible tracks (`relay
// reindex`), and the document of each of their artists read from artists
// (nil: none, an index for tests of track search). seq (the index's
// AppliedSeq and ArtistSeq) is the outbox sequence the caller read BEFORE it started
// listing tracks, so changes made during the listing replay on top: they
// are idempotent, and the index converges.
//
// The index is built next to dir with scorch's unsafe_batch (no fsync per
// batch), waited on until fully persisted, then swapped in for dir, so a
// crash mid-build leaves the old index in place rather than a partial one
// claiming a seq. The index at dir must not be open elsewhere.
func Rebuild(ctx context.Context, dir string, seq int64, tracks iter.Seq2[*relay.Track, error], artists ArtistSource) (err error) {
	if seq < 0 {
		return fmt.Errorf("search: rebuild: negative seq %d", seq)
	}
	tmp := dir + ".rebuild"
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("search: rebuild: clear %s: %w", tmp, err)
	}
	bi, err := createBleve(tmp, true)
	if err != nil {
		return fmt.Errorf("search: rebuild: create %s: %w", tmp, err)
	}
	defer func() {
		if bi != nil {
			_ = bi.Close()
		}
		if err != nil {
			_ = os.RemoveAll(tmp)
		}
	}()

	n := 0
	b := bi.NewBatch()
	// The artists of the tracks listed: 50k for the bench's million tracks.
	seen := map[syntax.DID]bool{}
	var dids []syntax.DID
	for t, terr := range tracks {
		if terr != nil {
			return fmt.Errorf("search: rebuild: list tracks: %w", terr)
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("search: rebuild: %w", err)
		}
		if err := b.Index(t.URI().String(), document(t)); err != nil {
			return fmt.Errorf("search: rebuild: index %s: %w", t.URI(), err)
		}
		n++
		if !seen[t.DID] {
			seen[t.DID] = true
			dids = append(dids, t.DID)
		}
		if b.Size() >= rebuildBatch {
			if err := bi.Batch(b); err != nil {
				return fmt.Errorf("search: rebuild: batch: %w", err)
			}
			b.Reset()
		}
	}
	// Artists are read after the listing, so they may be newer than seq:
	// the entries after seq replay and rebuild them again.
	for chunk := range slices.Chunk(dids, artistReadBatch) {
		if artists == nil {
			break
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("search: rebuild: %w", err)
		}
		if err := indexArtists(ctx, b, artists, chunk); err != nil {
			return fmt.Errorf("search: rebuild: %w", err)
		}
		if b.Size() >= rebuildBatch {
			if err := bi.Batch(b); err != nil {
				return fmt.Errorf("search: rebuild: batch: %w", err)
			}
			b.Reset()
		}
	}

	// The last batch carries the seq and mapping version. With unsafe_batch,
	// Batch returns before anything reaches disk and Close does not flush,
	// so wait until the persister has written a snapshot containing it
	// (and therefore every batch before it).
	persisted := make(chan error, 1)
	b.SetInternal(keyOutboxSeq, encodeSeq(seq))
	b.SetInternal(keyArtistSeq, encodeSeq(seq))
	b.SetInternal(keyMapping, []byte(MappingVersion))
	b.SetPersistedCallback(func(err error) {
		select {
		case persisted <- err:
		default:
		}
	})
	if err := bi.Batch(b); err != nil {
		return fmt.Errorf("search: rebuild: final batch: %w", err)
	}
	select {
	case err := <-persisted:
		if err != nil {
			return fmt.Errorf("search: rebuild: persist: %w", err)
		}
	case <-ctx.Done():
		return fmt.Errorf("search: rebuild: waiting for persist: %w", ctx.Err())
	}
	// Merge segments now, while a rebuild is expected to be heavy: left to
	// the background merger, a freshly built million-track index spent its
	// first minutes after start merging, at several times its idle memory.
	if err := forceMerge(ctx, bi); err != nil {
		return fmt.Errorf("search: rebuild: merge: %w", err)
	}
	cerr := bi.Close()
	bi = nil
	if cerr != nil {
		return fmt.Errorf("search: rebuild: close: %w", cerr)
	}

	if err := swapDir(tmp, dir); err != nil {
		return fmt.Errorf("search: rebuild: %w", err)
	}

	// Reopen the normal way to prove the result opens and holds seq.
	ix, err := Open(dir)
	if err != nil {
		return fmt.Errorf("search: rebuild: reopen: %w", err)
	}
	got, err := ix.AppliedSeq()
	if cerr := ix.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("search: rebuild: reopen: %w", err)
	}
	if got != seq {
		return fmt.Errorf("search: rebuild: reopened index is at seq %d, want %d", got, seq)
	}
	return nil
}

// swapDir replaces dir by tmp: the old index moves aside first, so there is
// no moment where a half-removed index sits at dir.
func swapDir(tmp, dir string) error {
	old := dir + ".old"
	if err := os.RemoveAll(old); err != nil {
		return fmt.Errorf("clear %s: %w", old, err)
	}
	if err := os.Rename(dir, old); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("move old index aside: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("move new index in place: %w", err)
	}
	if err := os.RemoveAll(old); err != nil {
		return fmt.Errorf("remove old index: %w", err)
	}
	return nil
}

// forceMerge runs scorch's merge planner to completion on bi.
func forceMerge(ctx context.Context, bi bleve.Index) error {
	adv, err := bi.Advanced()
	if err != nil {
		return err
	}
	sc, ok := adv.(*scorch.Scorch)
	if !ok {
		return nil // not scorch: nothing to do
	}
	opts := mergeplan.DefaultMergePlanOptions
	return sc.ForceMerge(ctx, &opts)
}
