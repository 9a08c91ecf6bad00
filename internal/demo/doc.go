// Package demo is what `make demo` runs: a relay a newcomer can open
// without the public network. Start brings up the local ATProto network of
// internal/testnet (PLC, a real PDS, indigo's relay, jetstream), starts
// `relay serve` against it, puts the catalogue's audio and artwork into
// relay's own media storage, writes the catalogue's records to the PDS
// through com.atproto.repo.createRecord, and returns once relay serves all
// of it. Close stops relay serve (SIGTERM: it shuts down cleanly) and the
// network.
//
// The catalogue: five artists with handles on the PDS's domain
// (aurora-lane.test, ...), three albums and singles, 21 tracks with
// diacritics in their titles (so the folded search shows: "bjork" finds
// "Björk och Tall"), genres, tags and featured artists. Its media is made
// here, nothing is downloaded: a few seconds of an 8-bit WAV chord per
// track and a 256 px PNG cover (a gradient and a figure) per album and per
// artist's singles. One more account writes hostile records: two titles
// that are HTML, a javascript: imageUrl, a plain-http audioUrl on a foreign
// host and a record over validate.MaxRecordBytes. The first three are
// indexed and come back as plain JSON strings (the URL dropped); the last
// two are rejected and counted in relay_ingest_rejected_total. With
// Config.AddPlays the tracks get plays over the past day (written to relay
// serve's store beside it, as relay backfill writes), so trending has an
// order to show at the first look.
//
// Guarantees of Start:
//   - the data dir is emptied first: the network is new at every start, so
//     an earlier run's tracks would name accounts that no longer exist;
//     only a dir Start marked as the demo's (.relay-demo), or an empty one,
//     is emptied: any other is refused, so a mistyped --data-dir pointing at
//     a real relay's data is never wiped;
//   - relay serve runs with --public-url of its own loopback origin, so the
//     http media URLs under it pass validation (validate.TrustOrigin), and
//     never with an address off loopback;
//   - a port given (not 0) that is taken is ErrPortBusy, before anything
//     starts; a port 0 picks a free one and, as testnet does, another one
//     if it is lost before relay binds it (three tries);
//   - it returns only when every track and every indexed hostile record is
//     in the discovery feed, the folded search finds, every artist answers
//     getArtist by handle and each rejected hostile record is counted;
//   - on any error, and at Close, every process it started is stopped:
//     relay serve and each network process run in their own process
//     groups, killed with the demo if it dies (Pdeathsig).
//
// Where things live:
//   - demo.go: Config, Start, Close, ports;
//   - relay.go: relay serve as a child process;
//   - catalogue.go: the artists, albums, tracks and hostile records;
//   - media.go: the generated WAV and PNG files;
//   - write.go: accounts and records on the PDS, through indigo's atclient;
//   - plays.go: the past day's plays, per track per hour;
//   - wait.go: what "served" means, and the HTTP reads it and the test use;
//   - tips.go: the links cmd/relay-demo prints (web pages when they answer).
//
// demo_test.go's TestDemo runs the whole bring-up on a random port and
// checks it through relay serve's HTTP API, Close included (no process,
// no port left); it is skipped under -short.
package demo
