// Package sqlite is relay's store: the truth about tracks and accounts, in one
// SQLite file in WAL mode with one writer connection and a pool of readers.
//
// It meets the store contract its consumers declare (indexer.Store,
// search.Source, appview.Store, backfill's store), checked by storetest in
// conformance_test.go. Invariants it keeps:
//   - a track is its at-uri: every key (tracks, tombstones, the outbox, the
//     feed's order) is (did, collection, rkey); any collection NSID is
//     taken, none is refused (an error, not a default), and a resync
//     touches only the collections its snapshot covers;
//   - a track row changes only for an event whose rev is newer than the row's;
//     a delete leaves a tombstone with its rev, so nothing older resurrects it;
//   - the jetstream cursor is written in the same transaction as the rows its
//     events produced (ApplyBatch), so a crash loses no event;
//   - every change that can alter what search shows appends to the outbox in
//     that same transaction, and the search index follows the outbox;
//   - an account has an actors row only once it has a track or tombstone:
//     jetstream's identity and account events for the rest of the network
//     are only remembered, in memory and bounded, so that a first track
//     starts with the status and handle last announced (a deactivation just
//     before, or in the same batch as, the first track still hides it);
//   - an identity event without a handle (the DID document changed) marks
//     the account for a fresh lookup by the handle resolver, keeping the
//     handle shown until it answers (handles.go); a lookup's answer never
//     overwrites a later identity event;
//   - actors.track_count is the account's tracks neither deleted nor
//     audio_missing, kept by triggers on tracks (schema.sql) and counted
//     once when a file reaches schema v6 (migrate.go), so Artists and
//     ArtistByHandle read a row per artist instead of counting its tracks
//     (a page's 50 artists at 100k tracks: 96 ms before, 0.22 ms
//     after, BenchmarkArtists; BenchmarkApplyBatch moved within its
//     noise, +9%); storetest checks the count through audio,
//     updates, deletes, replays and resurrection.
//
// Where things live:
//   - store.go: opening, the schema, the writer and reader pools, and
//     the read statements kept prepared (only texts built from constants,
//     key lists up to maxPreparedKeys: TestPreparedBound);
//   - migrate.go: bringing an older data dir to the current schema (user_version),
//     tested on files of versions 0 (as e4f107f made them), 1 and 2
//     (migrate_test.go, testdata/);
//   - apply.go: ApplyBatch, the only write path for network events;
//   - recent.go: the bounded memory of accounts without tracks;
//   - handles.go: what the handle resolver reads and writes (handles/);
//   - query.go: the reads the appview needs (feed page, tracks by uri);
//   - artist.go: the artist reads (an artist's feed, artists in one query
//     per page, lookup by handle, albums; counts from actors.track_count);
//   - artists_search.go: ArtistNames, the artist names an artist's visible
//     tracks credit, for the search index's artist documents;
//   - resolve.go: a handle to its DID, for searchTracks' artist filter;
//   - outbox.go: the change feed for the search index and full scans for a rebuild;
//   - scan.go: turning rows into relay.Track;
//   - backfill.go: backfill progress and ResyncRepo, a repo snapshot applied
//     in one transaction;
//   - plays.go: AddPlays (per track per hour, one transaction) and
//     Trending (plays summed over an hour window, visible tracks only),
//     PrunePlays (hours past the longest window, as Trending reads every
//     row it holds);
//   - audio.go: the audio checker's queue (a one-off sweep in key order,
//     then the outbox), due checks, and outcomes that hide or show a track
//     with its outbox entry in one transaction;
//   - auth.go: logins (sessions by token hash, revoked and pruned) and
//     OAuthStore, indigo's oauth.ClientAuthStore over the same file;
//   - uploads.go: the publish ledger (ReserveUpload, with its limits
//     admitted inside the transaction; ReleaseUpload) and what publish
//     asks before deleting an object (ObjectReferenced, TrackMedia);
//   - metrics.go: a collector of track counts and the database's size.
package sqlite
