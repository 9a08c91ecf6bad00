// Package storetest checks a store backend against relay's store contract,
// in the spirit of testing/fstest.TestFS: a backend's own test calls
//
//	storetest.Run(t, func(t *testing.T) storetest.Backend { ... a fresh, empty store ... })
//
// and every rule below runs as a named subtest on a fresh store. SQLite
// passes it (sqlite/conformance_test.go); a new engine (PostgreSQL) is a new
// package that passes it, with no change to the indexer, search or appview.
//
// Backend is the union of what the consumers declare: indexer.Store,
// search.Store (with search.Outbox and search.Source), appview.Store and
// backfill.Store.
// Each consumer states its part of the contract on the interface it
// declares (indexer.Store: apply, revs, accounts; search.Source and
// search.Outbox: the outbox order; appview.Store: visibility and paging);
// the whole of it is below, one rule to a paragraph, and Run checks it.
//
// # The contract
//
// Keys. A track is its at-uri: its key everywhere is (did, collection,
// rkey). Two collections holding the same (did, rkey) hold two tracks,
// with their own revs, tombstones, outbox entries and feed positions. The
// store takes any collection NSID (which ones are indexed is validate's
// business); a put or delete without one is an error, never a default.
//
// Apply (ApplyBatch). A batch applies in order, all or nothing: its rows,
// its outbox entries and its cursor (when > 0) commit together, and a batch
// that fails (an unknown event kind) leaves none of them. Cursor returns the
// last stored cursor, 0 before any. A put stores every field of the track
// as given (the record as the same JSON value); IndexedAt is the event's
// when set, else the time of the first apply, and is kept by later updates;
// SortAt = min(CreatedAt, IndexedAt). ApplyResult counts each event once:
// Applied if it changed the store, Stale if it changed nothing.
//
// Revs. A put or delete whose rev is not newer than the stored one for
// its at-uri (did, collection, rkey) changes nothing and writes no outbox entry. A delete leaves a
// tombstone with its rev, so a create at that rev or older never
// resurrects the track; a newer one does.
//
// Accounts. After account active=false (any status) the account's tracks
// are in no query (Feed, Tracks, VisibleTracks), and each has an outbox
// entry reading with a nil Track; active=true shows them again, with
// entries carrying the Track. This holds for tracks arriving while the
// account is hidden, and for an account event in the same batch as the
// account's first track, in either order. Status "deleted" removes the
// tracks for good: re-activation or a replay of their records does not
// bring them back. An identity event with a handle sets StoredTrack.Handle;
// one without leaves it. A backend need not remember accounts it holds no
// track for.
//
// Backfill (ResyncRepo). A snapshot of a repo at rev, covering a set of
// collections, puts its tracks (the rev check still applies, so a newer
// live write survives), deletes, at rev, stored tracks of that repo in
// those collections absent from the snapshot and older than rev (tracks of
// other collections are left alone; a snapshot covering none, or holding a
// track outside those it covers, is an error), stores a non-empty handle, and marks the repo done, in one
// transaction. A record whose CID is unchanged only has its rev moved on
// and writes no outbox entry. The queue (AddBackfillRepos, BackfillDue,
// StartBackfill, UndoBackfillStart, FailBackfill, GiveUpBackfill,
// RequeueBackfill, BackfillWaiting, BackfillCounts, BackfillFailures,
// Backfill/SetBackfillSource) keeps what it is told, with two atomic
// rules: StartBackfill and GiveUpBackfill change a repo only if it is
// still as BackfillDue listed it (state and attempts), and report whether
// they did. A zero retry time is never: the repo is given up, not due,
// not waited for, counted Exhausted, until a requeue. How many attempts a
// repo gets is the backfill's business, not the store's.
//
// Outbox. Every change to what search shows (a track's searchable fields,
// or whether it is visible) appends an entry in the same transaction, and
// so does a change of an account's handle (one entry, naming any live
// track of the account: search rebuilds the artist of every account its
// entries name); a stale event, a handle unchanged, or a status change
// that keeps an account hidden (or shown) appends none. Changes(after, limit) returns up to limit
// entries with seq > after in seq order, each reading the track's current
// searchable state (DID, Collection, RKey, Title, Artist, Album, Genre, Tags, SortAt),
// nil when it is not visible. Sequence numbers are commit-ordered and
// gap-free: each commit's entries take the next numbers after the last
// commit's, and a seq becomes visible to Changes only once every lower seq
// is, however many writers commit at once. The search follower depends on
// it: it asks for "after the last seq I applied" and must never step over
// one committed later. OutboxSeq is the highest seq ever written (pruned or
// not, never reused); OutboxFloor the lowest still held (0 when empty);
// PruneOutbox(seq) drops entries up to seq and nothing else.
//
// Queries. Feed returns visible tracks newest first by SortAt, then DID,
// then Collection, then RKey, all descending, strictly after the FeedKey it is given, at
// most limit: keyset pages never repeat or skip while tracks arrive.
// Tracks returns the visible tracks among the uris in the order asked,
// leaving out unknown (a collection never stored included), deleted and
// hidden ones and uris whose authority is not a DID; a uri's collection
// picks the track. ArtistFeed is Feed within one artist (and one album,
// when named), with the same paging rule while tracks come and go.
// ArtistNames returns, for each DID asked with visible tracks, the
// distinct artist names those tracks credit, most credited first (ties by
// name), at most perArtist.
// Artists returns, among the DIDs asked, each account with visible tracks
// once, with its handle and visible track count (hidden accounts, deleted
// tracks and unknown DIDs left out); ArtistByHandle finds such an account
// by handle, case aside; Albums lists the album names of its visible
// tracks, most recent first, with counts and an artwork URL of one of them.
//
// Audio (audiocheck.Store). SyncAudioChecks queues, at most limit per
// call, every stored track (once) and every track new or changed since
// through the outbox: a new audioUrl is unchecked and due at once, and a
// hidden track whose audioUrl changed is shown again; a deleted track
// leaves the queue. DueAudioChecks lists due checks with the track's
// current URL. SaveAudioCheck stores an outcome only while the track has
// that URL; Status missing takes the track out of every list (Feed,
// ArtistFeed, Trending, VisibleTracks, Changes' Track nil) but not out of
// Tracks (AudioStatus missing), any other status puts it back, each in one
// transaction with its outbox entry.
//
// Files:
//   - storetest.go: Backend, Run, fixtures;
//   - apply.go: apply, stale revs, tombstones;
//   - account.go: account visibility and handles;
//   - backfill.go: backfill.Store: resync and the queue;
//   - outbox.go: outbox order, pruning, what writes an entry, concurrent writers;
//   - feed.go: Feed order and paging, Tracks lookup;
//   - artist.go: ArtistFeed order, album filter and paging while tracks
//     come and go; Artists, ArtistByHandle, Albums;
//   - artists_search.go: ArtistNames (what search builds artist
//     documents from) and the entry a handle change writes;
//   - audio.go: the audio checker's queue and what missing audio hides;
//   - collections.go: keys carry the collection (two collections, one
//     rkey; paging across them; resync per collection; none refused);
//   - plays.go: AddPlays sums per track and hour; Trending sums the
//     window's hours, ranks by plays then feed key, leaves out deleted and
//     hidden tracks and plays outside the window, and pages without
//     repeat or skip while tracks leave; TrendingKeys is the same ranking
//     from the top, keys only (checked on every such call).
package storetest
