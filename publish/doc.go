// Package publish is the write side of relay: a logged-in user (package
// auth) uploads a track, publish stores the audio and artwork by content
// hash (package storage), writes the app.relay.track record to the user's
// own repo with com.atproto.repo.createRecord, and applies it here at once
// through the store's apply path, at the commit's rev, so the firehose's
// copy that follows is a no-op. DELETE undoes it.
//
// Endpoints (Register):
//
//	POST   /tracks, /xrpc/app.relay.track.publish  multipart → {"uri","cid","audioUrl"}
//	DELETE /tracks/{rkey}, /tracks/{did}/{rkey}    the user's own track only (403 otherwise)
//
// What it guarantees (each locked down by a named test):
//   - streaming: the body is read part by part (multipart.Reader), the file
//     spooled to disk while hashed and counted, never whole in memory
//     (BenchmarkUpload50MB reports peak RSS);
//   - the whole path through real parts: an app-password login on a real
//     PDS, a WAV and an m4a published, their records on the PDS with
//     fileType, duration and audioSha256, found by searchTracks at once,
//     their audio answering a Range request, the same bytes twice one
//     object, deletes that leave nothing on the PDS, in the index or in
//     storage (TestPublishEndToEnd; into R2 with signed URLs:
//     TestPublishR2);
//   - content, not name: the file is sniffed by media; anything relay does
//     not take is a 400 with media's message and nothing stored; over
//     --max-upload-mb (or a body announced past every bound), 413 and
//     nothing stored; each bound on fields, parts and artwork crossed
//     (TestRefusals);
//   - only the owner deletes: another user's DELETE is 403 and changes
//     nothing (TestWrongUserDeletes); a track not indexed here yet is
//     deleted by the objects its record names;
//   - nothing written that relay's own validation refuses: the record is
//     validated (validate.Record) before anything is stored or written;
//   - no orphan object, no record naming nothing: objects are put before
//     the record is written; if the PDS does not take it, they are deleted
//     unless a live track names them (by URL, or the audio by sha256) or a
//     publish in flight holds them (TestPDSDown); a storage failure writes
//     no record (TestStorageDown). Between Put and the PDS's answer each
//     key is in a journal on disk (Config.Journal), so a crash there
//     leaves a name: Sweep, run at start and hourly, deletes what no track
//     names an hour on;
//   - per-user limits over a sliding hour in the uploads table: past them,
//     429 with Retry-After, the seconds until enough of the oldest uploads
//     leave the window (TestRateLimit, TestReserve); the check and the
//     insert are one transaction, and a failed publish gives its place back
//     (TestRelease); a crash's orphan is swept (TestSweep);
//   - the server's 10 s ReadTimeout is lifted for the upload only, to a
//     deadline proportional to the size bound, and a body slower than
//     Config.MinRate on average, or that sends nothing for Config.MaxStall
//     (the read deadline moved before each read), is cut with 408
//     (TestSlowUploads);
//   - every outcome counted: relay_publish_total{result}, the duration
//     histogram, relay_publish_bytes_total, relay_publish_deletes_total.
//
// Where things live:
//   - publish.go: Config, Publisher, the two handlers, the error answers;
//   - spool.go: spooling a part to disk while hashing, the rate guard;
//   - objects.go: holds, the journal, releasing an object, Sweep;
//   - ledger.go: Ledger, what publish asks of the store (sqlite.Store:
//     uploads, references), and the limits' arithmetic run inside its
//     transaction;
//   - metrics.go: the series;
//   - e2e_test.go: everything above through a real PDS (internal/testnet),
//     SQLite, Bleve and local storage; r2_test.go: the same into versitygw;
//     ledger_test.go: the limits and the sweep on a real store;
//     bench_test.go: latency to searchable, a 50 MB upload's throughput
//     and peak RSS.
package publish
