// Package storage is where relay keeps uploaded media: audio and artwork,
// content-addressed, on local disk (the default: make run needs nothing) or
// in Cloudflare R2 through the S3 API.
//
// A Key is "audio/{sha256hex}.{ext}" or "art/{sha256hex}.{ext}": the hash
// of the content, the extension one the prefix allows (mp3, wav, ogg, flac,
// m4a; png, jpg, jpeg, webp), which alone decides the served content type.
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
//   - r2.go: R2, the S3 client for Cloudflare R2 and its presigned GETs.
package storage
