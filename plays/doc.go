// Package plays decides who a listener is and whether a play counts, and
// writes counted plays to the store per track per hour, for trending.
//
// What it guarantees:
//   - no client address is ever stored or logged. A listener is
//     HMAC-SHA256 of the address under a random 32-byte key held in memory
//     only and replaced at each UTC midnight (keys.go): IDs of one day
//     cannot be linked to the next, nor turned back into addresses;
//   - X-Forwarded-For is honoured only from a peer inside a trusted range
//     (--trusted-proxy; none by default), walked from the right, trusted
//     hops skipped, the first untrusted entry taken; entries a client
//     wrote on the left cannot pose as its address. A malformed entry or
//     more than MaxForwardedHops trusted ones: the peer. Only the last
//     MaxForwardedBytes of the header are read (addr.go, TestClientAddr);
//   - a listener counts once per track per 30 minutes (Window). The
//     memory of who played what is bounded (MaxListens, default 1M
//     listens, 53 MB when full, measured by BenchmarkDedupeMemory), oldest
//     forgotten first, expired ones dropped as time passes
//     (TestDedupeBound). It is memory only: after a restart, or when the
//     key changes at midnight, a listener may count twice within 30
//     minutes. Accepted: a play more, never a play lost;
//   - /play never waits on SQLite: Counter.Play adds to counts in memory,
//     and Run writes them every FlushEvery (5 s) in one transaction, and
//     once more when it stops (TestCounterFlushesAtShutdown). A failed
//     write keeps its counts for the next; what waits is bounded
//     (MaxPending (track, hour) pairs, and twice that while a failed flush
//     is put back), past which plays are dropped and counted so;
//   - closed hours never change, so trending's pages are stable. A flush
//     books counts of an hour already over to the hour in progress, and
//     is abandoned (rolled back) past FlushTimeout (30 s). Trending ranks
//     only hours before OpenHour(now), the hour that ended less than Settle
//     (1 min) ago counting as open: a write decided at t lands in an hour
//     ≥ hour(t) before t+30 s, so by the time an hour is closed for a reader
//     (t+60 s past its end) nothing can still land in it
//     (TestFlushBooksLateCountsNow). Hence the hour in progress shows in
//     trending from a minute past its end on;
//   - metrics carry no track: relay_plays_total{result}, flush errors and
//     the listens remembered (metrics.go).
//
// Files:
//   - addr.go: Proxies, the client address behind trusted proxies;
//   - keys.go: the day's key and ListenerID;
//   - dedupe.go: the bounded memory of listens in the last 30 minutes;
//   - counter.go: Counter (Play, Run, Flush), the Store it writes to,
//     OpenHour;
//   - metrics.go: the relay_plays_* series.
package plays
