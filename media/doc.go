// Package media decides what an upload is: which audio format (by its
// content, never its name), how long it plays, and, for cover art, which
// image format and how big. The publish endpoint spools an upload to a
// temporary file while hashing it, then calls Probe (audio) or Artwork
// (images) on that file as an io.ReaderAt; the answer gives the record its
// fileType and duration and the object key its extension, and an error is
// the client's 400.
//
// Guarantees:
//   - content, not name: Sniff takes mp3 (ID3v2 tags, then two MPEG audio
//     frames in a row; or two bare frames), wav (RIFF/WAVE), ogg with a
//     Vorbis or Opus identification header (told apart), flac (fLaC, also
//     behind an ID3v2 tag) and ISO BMFF with an audio brand or a generic
//     one (isom, mp42, ...) and a sound track: m4a. Anything else is
//     ErrUnsupported with a message naming what it looks like (TestRefused);
//   - every FileType returned is a knownValue of app.relay.track's fileType
//     (TestFileTypes);
//   - duration in whole seconds, rounded, within a second of the truth for
//     real encoders' output (TestProbe), read from headers (the Xing/Info
//     or VBRI frame count, the RIFF data size, FLAC STREAMINFO, the last Ogg
//     granule position, the sound track's mdhd), or by a frame walk for an
//     MP3 without a frame count;
//   - streaming: never the whole file in memory; header parsers read only
//     headers (a 50 MB WAV costs a few hundred bytes: TestHeaderOnlyReads,
//     BenchmarkWAV50MB), the MP3 walk holds one frame;
//   - bounded against hostile files: every read goes through a budget
//     (MaxHeaderBytes; the file itself for the MP3 walk) and stops when ctx
//     is done; boxes (MaxBoxes, MaxBoxDepth), chunks (MaxChunks), ID3 tags
//     (MaxID3Tags) and junk between MP3 frames (MaxJunk)
//     are counted; a size past the end of the file, or a duration past
//     MaxDuration, is ErrInvalid (TestHostile, TestTruncated); no input
//     panics (FuzzProbe, FuzzArtwork);
//   - errors: ErrUnsupported and ErrInvalid carry messages made of our
//     words and numbers only, fit to pass to a client; a done context comes
//     back as its own error (TestContext), for the caller to answer as a
//     timeout rather than a 400.
//
// Decoders: github.com/tcolgate/mp3 (MPEG frames), github.com/mewkiz/flac
// (STREAMINFO), github.com/abema/go-mp4 (the box tree), image/png,
// image/jpeg and golang.org/x/image/webp (DecodeConfig). WAV's RIFF header
// and Ogg's page headers are read by hand: 44 and 27 bytes, and the
// libraries for them want a seeker and trust the sizes they read (go-audio/wav)
// or decode the audio (oggvorbis).
//
// Where things live:
//   - sniff.go: Format, the formats taken, Sniff, ID3v2 skipping, describe;
//   - probe.go: Audio, Probe, Duration (dispatch by format);
//   - mp3.go, wav.go, ogg.go, flac.go, m4a.go: one format each;
//   - artwork.go: Image, Artwork;
//   - limits.go: the bounds, ErrUnsupported/ErrInvalid, the budgeted reader;
//   - example_test.go: probing a spooled upload, runnable (go test -run Example);
//   - media_test.go: the table tests; fuzz_test.go, bench_test.go;
//   - testdata/gen.sh: makes the samples with ffmpeg (committed, a few KB
//     each; the WAVs and PNG/JPEG are written by the tests in Go).
package media
