package search

import "time"

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
