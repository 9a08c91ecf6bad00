// Package search is relay's full-text index of tracks: a Bleve (scorch)
// index in the data dir that serves search-as-you-type over title, artist,
// album, genre and tags, and "newest first" lists of matches. The same
// index holds a document per artist (an account with visible tracks),
// searched by handle and by the artist names its tracks credit
// (SearchArtists).
//
// The index is a derived projection of SQLite, never a source of truth. It
// holds exactly the visible tracks (live, account active) and is kept in
// step through the outbox: every SQLite change has a sequence number, and
// Apply writes the documents of a run of changes and the highest sequence
// in the same Bleve batch. After a crash the index is therefore exactly at
// some sequence, and CatchUp/Follow replay from there; replays are no-ops.
// Artist documents follow at their own sequence, at most a few seconds
// behind while catching up (see the invariants).
// `relay reindex` (Rebuild) throws the index away and builds it from the
// track table, stamped with the outbox sequence read before listing.
//
// Invariants:
//   - artist documents (doc id = the DID) live in the track index under
//     their own field names, so no track query matches one and none
//     counts in DocCount; each holds the handle and its first label, the
//     16 names most credited on the artist's visible tracks
//     (TestArtistNamesBounded) and the track count. CatchUp rebuilds the
//     artist of every account its changes name, read through
//     ArtistSource, in the batch of the track changes and with a second
//     seq, ArtistSeq (the outbox seq up to which artists reflect the
//     store; an index without one has artists at its applied seq). While
//     a backlog is applied the accounts wait in an in-memory pending set
//     and are rebuilt together, every 5 s (or 100k accounts), since the
//     big accounts of a Zipf catalogue are named by nearly every batch:
//     artist documents lag track documents by at most that (plus one
//     rebuild) while catching up, and are current whenever CatchUp has
//     drained the outbox
//     (TestArtistsDeferredWhileCatchingUp). After a crash between the two
//     the pending set is found again in the outbox entries after
//     ArtistSeq, which the follower keeps (it prunes up to PrunableSeq,
//     the lower of the two seqs; OpenCurrent rebuilds an index whose
//     entries are gone), so artists converge on the store as tracks do
//     (TestArtistsAfterCrash, TestArtistsCrashBetweenBatches); the store
//     appends an entry for a handle change, so a renamed artist is found
//     by its new handle only (TestArtistFollowsTheStore). Apply alone
//     touches track documents only. The account's own display name is not
//     known to the store, and a featured artist's displayName is another
//     account's claim: neither is searched.
//   - artist search ranks best match first, then more tracks, then DID,
//     and pages as relevance search does (a frozen ranking here, search
//     after (score, tracks, DID) elsewhere) (TestArtistPagingUnderWrites).
//   - doc id = the track's at-uri; Bleve stores no field values, no _all
//     field, no term vectors, and has no dynamic mapping, so the index holds
//     only what queries need.
//   - the analyzer "music" (ASCII folding, Unicode words, lower case, the
//     accent filter of fold.go, no stop words, no stemming) analyses both
//     documents and query text; an index built under other rules is rebuilt
//     at start (ErrMappingChanged).
//   - filters (artist DID, genre, tag) are keyword fields without norms or
//     frequencies, applied as a Bleve filter that never scores: the tracks
//     a filter keeps rank as they did without it, in both sorts, and Total
//     counts only them (TestFilters). Genre and tag match whole, ignoring
//     case.
//   - one process holds the index (Bleve locks it): the serving process
//     follows the outbox whoever wrote it, so `relay backfill` beside
//     `relay serve` writes SQLite only. The follower relies on outbox
//     sequence numbers being commit-ordered and gap-free (Source states it;
//     storetest checks it).
//   - typo tolerance counts runes (0 edits up to 3, 1 from 4, 2 from 8) with
//     the first letter fixed, on title, artist and album; it runs only when
//     nothing matches exactly or as a prefix (as Typesense does by default),
//     and within it an exact term always outweighs prefix and fuzzy terms;
//     every query word must match. It corrects words against the term
//     dictionaries first (typo.go): a word no field holds skips the exact
//     pass and is the only one corrected (all typo-tolerant words when every
//     word is held but not together), one edit before two, and stands for
//     its 4 closest corrections, the most frequent first, widened only when
//     those match nothing (TestTypoPassFewClosest); it finds what Bleve's
//     fuzzy query over every word would rank first, and nothing that query
//     does not find (TestTypoPassFollowsReference).
//   - a title matched whole ranks first (Meilisearch's exactness): beside
//     the word clauses, never required, a query whose words are the
//     title's, in order, adds a bonus, so "love heart" ranks the title
//     "Love Heart" above titles "Heart" on albums "Love Heart", and "heart
//     love" ranks "Heart Love" first (TestRankingTogether). The bonus is
//     for exact words only, so it never lifts a near match over an exact
//     one (TestRankingTogetherTypoPass). Only the title has it.
//   - words standing together rank together (Meilisearch's proximity):
//     each two adjacent words of title, artist and album are a term of the
//     field's pairs sub-field, and each two adjacent words of the query
//     found there add a bonus (below the whole title's), so "love heart"
//     ranks the title "Love Heart Forever" above the title "Heart Beats" by
//     the artist "Love" and above "Heart Forever Love" (TestRankingTogether).
//     Exact words only, as the whole bonus; a title of any length adds at
//     most 16 pairs (TestPairsBound). They cost 44 B/track at 5000 tracks
//     (TestBytesPerTrack) and 24 at 1M, where buckets are shared
//     (BENCHMARKS.md). A bucket holds many pairs, so a track holding both
//     query words apart can still collide into the bonus; asking for the
//     words in the same field as well cost 50-110% more CPU per query
//     (BenchmarkSearchCorpus), so it is not done.
//   - paging never repeats or skips while the index changes: newest-first
//     uses search-after on (sortAt, _id); relevance freezes the first
//     ranking (up to 1000 ids) in this process's memory while its cache
//     keeps it (TestPagingUnderWrites).
//   - a cursor never fails because other clients searched, time passed, or
//     the request reached another replica or a restarted process: a
//     relevance cursor carries its position (the last hit's exact score and
//     id) and continues by search-after on (score, _id) when the frozen
//     ranking is not here, giving the same pages while the index is
//     unchanged (TestRelevanceCursorElsewhere, TestRelevanceCursorSurvivesFlood).
//     Only there can concurrent writes shift scores and repeat or skip a hit.
//   - cursors are client input: bounded, strictly parsed, tied to their
//     query and its filters by a hash; a forged one is ErrBadCursor or a page, never more
//     work than a first search (TestBadQueries, FuzzDecodeCursor).
//   - a damaged index never stops the service: OpenCurrent moves aside an
//     index that fails to open or read back and rebuilds it from SQLite
//     (TestOpenCurrentRebuildsDamaged).
//
// Files:
//   - doc.go: this overview.
//   - mapping.go: analyzers, field mapping, and the Bleve document of a track.
//   - whole.go: the token filter of the title's whole sub-field (the
//     title's words as one term, hashed to 4 bytes) and the query term
//     that looks it up.
//   - pairs.go: the token filter of the pairs sub-fields (each two adjacent
//     words as one term, in 65536 buckets of 2 bytes) and the query terms
//     that look them up.
//   - fold.go: the token filter that folds accents Bleve's ASCII folding
//     leaves (Greek tonos, stray Latin marks) and keeps marks that change
//     letters in other scripts.
//   - index.go: Open/Close, AppliedSeq, ArtistSeq, PrunableSeq, Apply
//     (docs + seq in one batch), DocCount.
//   - follow.go: Source and Outbox (the ordering the follower relies on),
//     CatchUp (batches of 4000, artists rebuilt when due and when drained)
//     and Follow (woken by commits, polling for other processes' writes,
//     pruning up to PrunableSeq).
//   - rebuild.go: Rebuild, the bulk build behind `relay reindex`, merged
//     before it is swapped in.
//   - open.go: OpenCurrent, which rebuilds at start an index the outbox
//     cannot bring up to date, and one that fails to open or to read back
//     (moved aside to <dir>.damaged-<time>, only the latest kept; Bleve's
//     panics on damaged segments are recovered into errors), and
//     RebuildFrom a store. A damaged index never stops the service.
//   - metrics.go: Metrics (relay_index_lag_entries, and
//     relay_index_rebuilds_total counting OpenCurrent's rebuilds by reason),
//     created against the registry the caller gives, never a global; the
//     Collector of documents, size and applied sequence.
//   - query.go: Query/Result/Filter, query analysis and construction, filters,
//     Search for both sorts.
//   - typo.go: the typo pass: missing words, dictionary corrections ranked
//     by edits and documents, and the steps that stop at the first match.
//   - artists.go: ArtistSource, the artist document, the pending set and
//     its rebuild in CatchUp's batches (refreshArtists), ArtistCount,
//     SearchArtists and its cursors.
//   - bench_test.go: BenchmarkSearch, track and artist searches of the
//     bench corpus' query kinds side by side (go test -bench . ./search/).
//   - corpus_bench_test.go: BenchmarkSearchCorpus, p50, p99 and recall@10
//     per query kind over RELAY_SEARCH_BENCH_TRACKS tracks (the index
//     cached in the temp dir per size and mapping).
//   - size_test.go: bytes per track of the bench corpus' index, bounded.
//   - cursor.go: opaque cursors, ErrBadCursor, and the cache of frozen
//     relevance rankings (bounded in bytes; rankings nobody continued are
//     evicted first, those being paged hold at most 3/4 of the budget).
//   - example_test.go: a runnable example of a search query
//     (go test -run Example ./search/).
package search
