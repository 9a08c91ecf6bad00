// Package indexer brings the network's music records (every collection
// validate.Collections lists; app.relay.track today) into the store: it reads jetstream, validates every event, and applies them in
// batched transactions together with the cursor.
//
// Guarantees:
//   - nothing is skipped: every (re)connect resumes a few seconds before the
//     last event received (jetstream is at-least-once), and the store's rev
//     check drops the repeats;
//   - bad input never stops the stream: a malformed event is counted by
//     reason, logged with its at-uri (never its body), and skipped, and the
//     cursor still advances past it; a message over MaxMessageBytes is
//     skipped unread on the open connection (jetstream is asked not to send
//     one: maxMessageSizeBytes);
//   - jetstream is asked for the collections validate.Collections lists (the
//     wantedCollections filter), and a commit of any other is refused
//     (bad_collection); a track is its at-uri, so every put and delete
//     carries its collection;
//   - a record is accepted exactly when validate.Record accepts it, the
//     rule backfill applies too (bounded size and nesting, valid UTF-8, the
//     lexicon, https audio); a create or update it rejects hides the
//     version we held, since the repo no longer has a valid one;
//   - a hostile stream cannot flood the log: each reason logs its first
//     rejection, then at most a line a minute with the count left out;
//   - a crash loses nothing: the cursor commits with the rows it produced;
//   - memory is bounded however large the backlog or its records: a batch
//     commits at BatchSize events or BatchBytes of them, and the reader
//     holds at most 2*BatchBytes parsed ahead of the commit
//     (TestBatchBytesBound).
//
// Where things live:
//   - jetstream.go: the v1 /subscribe reader: reconnect, backoff, failover, pings;
//   - parse.go: ParseEvent, the pure check of an event (its record goes to
//     package validate) and the event-level reasons;
//   - indexer.go: batching into the store, the cursor, the too-old-cursor check;
//   - rejectlog.go: the per-reason rate limit on rejection log lines;
//   - metrics.go: the relay_ingest_* Prometheus metrics.
package indexer
