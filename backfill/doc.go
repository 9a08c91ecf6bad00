// Package backfill finds the app.relay.track records published before the
// service started and indexes them through the same apply path as live
// events.
//
// Repos come from sources (a relay's listReposByCollection, a PDS's
// listRepos, or DIDs named by the operator). Each repo's DID is resolved to
// its PDS with indigo's identity directory, its CAR is fetched with
// com.atproto.sync.getRepo, loaded and verified with indigo's atproto/repo
// (the commit signature against the DID's key), and its tracks are applied
// as one snapshot: puts at the snapshot's rev, and deletes for tracks the
// store holds that the repo no longer has.
//
// Guarantees:
//   - safe beside the live consumer: the store's rev check lets the newer of
//     a snapshot and a live event win, whichever lands first;
//   - resumable: progress lives in SQLite (backfill_repos, backfill_sources);
//     a second run continues where an interrupted one stopped;
//   - nothing silently dropped: a repo that fails keeps its error and is
//     retried with backoff up to MaxAttempts, and stays listed as failed;
//   - polite: bounded concurrency overall and per PDS host, a per-host rate
//     limit, and a pause for a host that answers 429;
//   - not a proxy into private networks: a PDS endpoint from a DID document
//     is fetched with Config.HTTPClient (by default an outbound client:
//     public https addresses only), using only the endpoint's scheme and
//     host, and a failed answer is kept as a short sanitized reason, never
//     the remote body.
//
// Where things live:
//   - backfill.go: Run, the dispatcher and workers, retries;
//   - repo.go: fetching, verifying and reading one repo;
//   - source.go: where repos come from;
//   - hosts.go: per-host concurrency and rate limits;
//   - progress.go: the terminal progress bar and plain log lines;
//   - metrics.go: relay_backfill_* metrics.
package backfill
