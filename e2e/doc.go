// Package e2e holds relay's end-to-end tests: `relay serve`, built once and
// run as a real process per test, against one shared local ATProto network
// (internal/testnet: a PLC directory, a PDS and Jetstream on loopback).
// Every record goes through the real PDS and the real Jetstream, and every
// check goes through relay's public HTTP API (XRPC, /xrpc/_health, /metrics).
//
// Each test makes its own accounts and its own relay data dir, so tests only
// ever look at their own accounts' tracks.
//
//	go test -count=1 -v ./e2e/    (or: make e2e)
//
// The first run installs node and the PDS into .cache/testnet (minutes);
// later bring-ups take a few seconds.
package e2e
