package search

import (
	"errors"
	"time"

	"github.com/blevesearch/bleve/v2"
)

// SetArtistRefresh sets when CatchUp's deferred rebuild of artist
// documents is due while catching up: every (0: every batch) since the
// last, or max accounts pending. Tests use it to take the clock out.
func (ix *Index) SetArtistRefresh(every time.Duration, max int) {
	ix.writeMu.Lock()
	defer ix.writeMu.Unlock()
	ix.artists.every, ix.artists.max = every, max
}

// CatchUpBatch is catchUpBatch, for tests sized against it.
const CatchUpBatch = catchUpBatch

// SetPairsBonus turns the pairs clauses of queries on or off (pairs.go),
// and returns what it was, for benchmarks that measure their cost.
func SetPairsBonus(on bool) (was bool) { return !noPairs.Swap(!on) }

// landThenFail is a bleve.Index whose next Batch is applied and then
// reported failed, as scorch does when a batch is introduced in memory
// but cannot be persisted.
type landThenFail struct {
	bleveIndex // embedded under another name: bleve.Index has a method Index
	armed      bool
}

type bleveIndex = bleve.Index

func (l *landThenFail) Batch(b *bleve.Batch) error {
	err := l.bleveIndex.Batch(b)
	if l.armed && err == nil {
		l.armed = false
		return errors.New("persisting the segment: no space left on device")
	}
	return err
}

// FailNextBatchAfterLanding makes the index's next Batch land and then
// fail (landThenFail).
func (ix *Index) FailNextBatchAfterLanding() {
	ix.writeMu.Lock()
	defer ix.writeMu.Unlock()
	if l, ok := ix.bi.(*landThenFail); ok {
		l.armed = true
		return
	}
	ix.bi = &landThenFail{bleveIndex: ix.bi, armed: true}
}
