// Package audiocheck checks, in the background, that each track's audio is
// really there, and hides a track whose audio is gone from the lists
// (discovery feed, trending, search, an artist's feed) without deleting it.
//
// A Checker runs beside ingest on its own goroutine and its own queue (the
// store's audio_checks rows): it never sits in the write path. Each pass
// queues the tracks new or changed since the last (Store.SyncAudioChecks:
// the outbox, and once, a sweep of every track stored before the checker
// first ran: 1M of them queue in about 22 s of small transactions),
// then takes up to Batch due checks, longest due first, and asks each
// audioUrl: HEAD, and a GET of one byte (Range: bytes=0-0) when HEAD is
// refused with 405 or 501.
//
// Guarantees:
//   - only through the client it is given, which must be outbound's: https
//     only, public addresses only (--allow-private-network aside), bounded
//     time and redirects. At most a few bytes of any body are read; a body
//     that streams forever is closed, not drained. A URL at a name
//     reserved for documentation and tests (.example, .test, .invalid,
//     example.com/net/org) is unreachable without being looked up;
//   - polite: at most Concurrency checks at once, PerHost to one host name
//     with HostGap between two starts there, at most HostBatch per host in
//     a pass; at most MaxHosts idle hosts remembered;
//   - a 404 or 410 hides a track only when the check before, at least
//     MissGap (10 min) earlier, answered 404 or 410 too. One such answer
//     hides nothing;
//   - no answer (a network error, a timeout, a refused redirect, 5xx, 429,
//     401/403 and any other status) never hides a track and never shows a
//     hidden one: a missing track stays missing until an answer (2xx, 206
//     or 416) says its audio is there, which shows it at once;
//   - hiding or showing is one store transaction with the track's outbox
//     entry, so search drops or re-adds it; an outcome for a URL the track
//     no longer has is dropped, and a changed URL starts afresh (the track
//     is shown until its new audio is checked);
//   - rechecks (Schedule): ok tracks weekly, missing ones hourly doubling
//     to daily, unreachable ones after 5 min doubling to daily, each
//     spread by ±10%;
//   - the search follower's pruning is held (Prunable, wired by cmd): it
//     never prunes past what the checker has read, so no changed URL is
//     missed.
//
// Where things live:
//   - checker.go: Config, Checker, Store (what it asks of the store), the
//     pass;
//   - probe.go: the HTTP exchange and classify, the rule from an answer to
//     ok, missing or unreachable;
//   - schedule.go: Schedule, the pure rule from a check's outcome to the
//     next state and time;
//   - hosts.go: the per-host bounds;
//   - hold.go: Prunable;
//   - metrics.go: relay_audio_checks_total{result},
//     relay_audio_check_duration_seconds,
//     relay_audio_visibility_changes_total{to}.
package audiocheck
