// Package validate decides which records relay accepts: a record is checked
// against relay's lexicons (package lexicons) and relay's own rules, once,
// and comes out as a typed relay.Track or a *RejectError naming the reason.
// The live path (indexer), backfill and publishing all call it, so a track
// is accepted, or refused, the same way whichever road it came by; publishing
// writes only records Track accepts.
//
// The collections relay indexes are the ones validate has a lexicon for:
// Collections lists them, Known tells one, and Record validates a record of
// any of them (Track for app.relay.track). The indexer subscribes to, and
// the backfill reads, exactly these.
//
// Guarantees of Track (and so of Record):
//   - pure: no I/O, no goroutines, safe to fuzz (FuzzTrack);
//   - bounded: a record over MaxRecordBytes is refused before any decoding,
//     and nesting past 32 levels or invalid UTF-8 is refused by a scan of
//     the bytes before the decoder sees them (lexicons.CheckJSON);
//   - every record the first version of relay wrote is accepted
//     (TestTrackRecords), and every accepted track's audio URL passes
//     IsMediaURL: https with a host and no userinfo, or under the
//     instance's own origin once cmd has called TrustOrigin with
//     --public-url (http only on loopback, for local-disk media);
//   - an error is always a *RejectError whose Reason is one of Reasons and
//     whose text names the at-uri, never the record body;
//   - the same decision, reason and Track as indigo's lexicon validator
//     (trackIndigo): Track reads the record once into a typed form by rules
//     read from the lexicon, and leaves to indigo any shape it does not
//     decide itself (duplicate or escaped keys, $link, $bytes, blobs);
//     FuzzTrackAgrees, FuzzTrackFieldsAgree and TestFastRules hold the two
//     paths together.
//
// Where things live:
//   - collections.go: the collections indexed, Collections, Known, Record;
//   - track.go: Track, MaxRecordBytes and IsHTTPS, and trackIndigo, the
//     reference path by lexicons.ValidateRecord;
//   - fast.go: the fast path, trackFast; fastscan.go: its single pass over
//     the JSON (syntax as encoding/json, data model as atdata, lexicon);
//     fastplan.go: its rules, compiled from the lexicon; formats.go: the
//     lexicon's string formats without indigo's regexps, plainHTTPS
//     (IsHTTPS's common case without url.Parse), and ParseTID and
//     ParseCID, syntax's own without regexps (each fuzzed against its
//     reference);
//   - origin.go: TrustOrigin and IsMediaURL, the rule for every record URL
//     relay lets into a src, an href or a redirect;
//   - reject.go: RejectError and the Reason* constants;
//   - example_test.go: validating a record, runnable (go test -run Example).
package validate
