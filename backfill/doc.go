// Package backfill finds the music records (app.relay.track today: every
// collection validate.Collections lists) published before the service
// started and indexes them through the same apply path as live
// events.
//
// Repos come from sources (a relay's listReposByCollection, a PDS's
// listRepos, or DIDs named by the operator). Each repo's DID is resolved to
// its PDS with indigo's identity directory, its CAR is fetched with
// com.atproto.sync.getRepo, loaded by our own bounded CAR loader (car.go;
// indigo's LoadRepoFromCAR costs 2^depth on shared subtrees), its commit
// signature verified with indigo against the DID's key, and its tracks applied
// as one snapshot: puts at the snapshot's rev, and deletes for tracks the
// store holds that the repo no longer has. The walk reads the records of
// every collection relay indexes (an MST key is "collection/rkey"), and the
// snapshot says it covers exactly those, so the store deletes nothing of a
// collection it did not read. Repos are still listed by app.relay.track
// alone (listReposByCollection takes one collection): a second collection
// will list its own.
//
// Guarantees:
//   - safe beside the live consumer: the store's rev check lets the newer of
//     a snapshot and a live event win, whichever lands first;
//   - resumable: progress lives in the store (Store, the interface this
//     package declares over root types); a second run continues where an
//     interrupted one stopped;
//   - nothing silently dropped: a repo that fails keeps its error and is
//     retried with backoff up to MaxAttempts, then given up (no retry time)
//     and still listed as failed; naming it (Config.DIDs) queues it afresh;
//   - an attempt is counted before its fetch: a repo that kills the process
//     (memory, a crash) is given up after MaxAttempts like any failure; a
//     shutdown during a fetch takes its attempt back;
//   - bounded by the CAR: loading a repo holds at most MaxRepoBytes of
//     blocks (each checked against its CID) and walks each MST node once
//     (a node reached twice, a tree deeper than 32, a key out of order is
//     refused), checking the context throughout;
//   - polite: bounded concurrency overall and per PDS host name (whatever
//     the port), a per-host rate limit, and a pause for a host that
//     answers 429;
//   - not a proxy into private networks: a PDS endpoint from a DID document
//     is fetched with Config.HTTPClient (by default an outbound client:
//     public https addresses only), using only the endpoint's scheme and
//     host, and a failed answer is kept as a short sanitized reason, never
//     the remote body.
//
// Where things live:
//   - backfill.go: Config, Run (requeue, list the sources, drain, report),
//     listing a source;
//   - store.go: Store, what the backfill needs of the store;
//   - queue.go: the queue's rules: states, backoff, exhaustion, the attempt
//     counted before its fetch (the store starts it only if still as listed);
//   - dispatch.go: the dispatcher, the workers and the run's report;
//   - repo.go: fetching, verifying and reading one repo;
//   - car.go: the bounded CAR loader and MST walk;
//   - source.go: where repos come from;
//   - hosts.go: per-host concurrency and rate limits;
//   - progress.go: the terminal progress bar, plain log lines, the gauges;
//   - metrics.go: Metrics (relay_backfill_*), on the registry given.
package backfill
