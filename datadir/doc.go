// Package datadir opens relay's data dir, the one place that knows what is
// in it: the SQLite store (relay.db, the truth), the Bleve index
// (search.bleve, derived), the index lock (index.lock), and the process's
// Prometheus registry. `relay serve`, `relay reindex`, `relay backfill` and
// the benchmarks open a data dir through it; it is wiring, so it names the
// concrete store.
//
// Guarantees:
//   - one process holds the search index: Serving and Reindex take the
//     index lock first and fail at once, naming the fix, when another
//     process holds it (TestIndexLock). The lock is released when the
//     process exits, however it exits.
//   - Open opens the store alone, safe beside a serving process: what it
//     writes reaches search through that process's outbox follower.
//   - the index is opened through search.OpenCurrent, so a serving process
//     starts with an index the outbox can bring up to date.
//   - each Dir has its own registry: the Go and process collectors and
//     what relay's packages register there, nothing registered elsewhere
//     in the process (indigo's own series) (TestRegistry).
//
// `relay serve` keeps three more things in the data dir, named in its
// wiring (cmd/relay), not here, as only it uses them:
//   - media/: uploaded audio and artwork with --storage local (storage's
//     Local, audio/{sha256}.{ext} and art/{sha256}.{ext});
//   - spool/: uploads while they are read and hashed, on disk rather than
//     in memory (publish; stale files removed at start);
//   - publish-journal/: one file per object key between its upload and
//     the PDS's answer, so what a crash leaves is swept an hour on.
//
// Files:
//   - doc.go: this overview.
//   - datadir.go: the file names, Dir, Open, Serving, Reindex, Close.
//   - lock.go: the index lock (flock).
package datadir
