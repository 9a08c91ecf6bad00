// Package handles finds, in the background, the handles of artists the store
// holds no handle for: accounts whose first track arrived after the identity
// events that named them (the store keeps identity state only for accounts
// with tracks, and remembers others only for a while).
//
// The directory's HTTP client must be outbound's: a handle's well-known host
// and a did:web host are named by anyone (cmd wires it).
//
// It also looks up afresh the handle of an account whose DID document
// changed: the store marks one at an identity event that carries no handle,
// which is every identity event through indigo's relay (it forwards only
// handles it verified, and it verifies none). Such a lookup first purges the
// directory's cached identity; until it answers the old handle is shown.
//
// A Resolver polls the store for such accounts in small batches, looks each
// up through an identity directory (indigo's, wrapped in its cache by cmd),
// and stores the handle only when it verifies both ways: the DID document
// declares it and it resolves back to the DID (indigo's directory reports
// handle.invalid otherwise). A failed or unverified lookup is retried later
// with exponential backoff; the attempt count and the next attempt's time
// live in the store, so a restart neither forgets nor hammers.
//
// Guarantees:
//   - never in the way: it runs beside ingest and queries, writes one small
//     statement per account, and a lookup never holds a store lock;
//   - bounded: at most Concurrency lookups at once, each within Timeout;
//   - an identity event wins: a lookup's answer is stored only while the
//     account is as it was listed (no identity event came meanwhile);
//   - a recheck answered without a verified handle clears the shown one (the
//     document no longer backs it); a failed lookup keeps it;
//   - prompt: it polls every Idle (1s), so a changed handle shows within a
//     second or so of its identity event, plus the lookup.
//
// Account status is not looked up: it is not in the DID document. The store
// applies the status the network last announced for an account (remembered
// for a while before its first track); see sqlite/recent.go.
//
// Where things live:
//   - resolver.go: Resolver, its loop, backoff;
//   - metrics.go: Metrics (relay_handle_lookups_total), on the registry given.
package handles
