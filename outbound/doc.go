// Package outbound is the one HTTP client for everything the network tells
// relay to fetch: PDS endpoints from DID documents, did:web documents and
// handle well-known files, and (later) the audio URLs the appview checks.
//
// An address learned from the network is untrusted (DESIGN.md, invariant 8).
// A Client built by New guarantees, for every request to an origin the
// operator did not name:
//   - https only (a plain-http URL is refused before anything is sent);
//   - the address actually dialled is public: the check runs in the dialer's
//     Control hook, on the resolved IP, for every connection including those
//     made after a redirect, so DNS rebinding and redirects to loopback,
//     private, link-local, CGNAT, multicast, unspecified, reserved and
//     IPv4-mapped forms of them are all refused without a byte sent;
//   - no environment proxy (a proxy would hide the real destination);
//   - bounded time (dial, TLS, headers, the whole exchange) and size
//     (response headers and body; a body over the cap fails with ErrTooLarge
//     rather than being cut silently), and at most a few redirects, never
//     from an untrusted origin to a trusted one.
//
// Origins the operator named (Options.Trusted: the PLC directory, --pds,
// --relay) are fetched as given, still with the time and size bounds.
// Options.AllowPrivateNetwork lifts the address and https rules for local
// test networks, where everything is plain http on loopback.
//
// Remote text is not to be trusted in logs either: Reason turns an error
// response into a short sanitized line (status, at most ReasonMax printable
// characters), and Sanitize does the same for any string.
//
// Where things live:
//   - client.go: New, Options, the transport and redirect rules;
//   - addr.go: CheckAddr, the pure rule for which IP addresses may be dialled;
//   - body.go: LimitBody, Reason and Sanitize.
package outbound
