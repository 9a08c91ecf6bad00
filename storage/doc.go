// Package storage is where relay keeps uploaded media: audio and artwork,
// content-addressed, on local disk (the default: make run needs nothing) or
// in Cloudflare R2 through the S3 API.
//
// A Key is "audio/{sha256hex}.{ext}" or "art/{sha256hex}.{ext}": the hash
// of the content, the extension one the prefix allows (mp3, wav, ogg, opus,
// flac, m4a; png, jpg, jpeg, webp: package media's), which alone decides
// the served content type.
// Network input names keys only through ParseKey.
//
// What every Store guarantees (each locked down by a test):
//   - a key is absent or whole: a Put whose reader fails, gives more or
//     fewer bytes than announced, or whose content is not the key's sha256,
//     leaves nothing under the key (TestLocalPutNothingPartial,
//     TestR2FailedPutLeavesNothing);
//   - the same key is the same bytes: a Put of a stored key is a no-op,
//     concurrent Puts of one key all succeed (TestLocalConcurrentPut,
//     TestR2);
//   - Delete of a missing key is no error.
//
// What R2 adds: a Put is one streamed PutObject (the body never buffered,
// BenchmarkPut50MB reports the peak RSS) whose SigV4 payload hash is the
// key's sha256, so the server refuses other bytes and a body cut short;
// with signed URLs, Handler answers a 302 to a GET presigned for the TTL,
// which the server refuses once expired (TestR2SignedURLs); the config's
// String, GoString and LogValue redact the credentials
// (TestR2ConfigRedacted).
//
// What Local's Handler guarantees: only valid keys are served, so no path
// (.., encoded slashes, NUL, long names) reaches another file, and file
// access goes through an os.Root besides (TestLocalTraversal); Range
// requests, the key's content type, nosniff, a sandboxing CSP and a year's
// immutable cache (TestLocalPutServe, TestLocalContentTypes).
//
// Where things live:
//   - key.go: Key, ParseKey, MakeKey and the content types;
//   - storage.go: the Store contract and what backends share (the exact,
//     hashing reader; media headers; request paths to keys);
//   - local.go: Local, files under a directory, written through a temp file,
//     fsync and rename; stale temp files of a crash removed at open;
//   - r2.go: R2, the S3 client for Cloudflare R2 and its presigned GETs;
//   - s3server_test.go: the tests' real S3 server, versitygw's posix
//     backend, built from the Go module proxy into .cache/ once.
package storage
