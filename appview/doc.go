// Package appview is relay's HTTP face: the XRPC queries defined by the
// app.relay.feed lexicons, the health endpoint and the Prometheus metrics.
//
// It reads only: tracks from the store, hits from the search index. Every bad
// parameter is an XRPC error ({"error":"InvalidRequest","message":...}, HTTP
// 400), never a 500.
//
// Where things live:
//   - server.go: routing, the health endpoint, request metrics;
//   - xrpc.go: XRPC errors and parameter parsing;
//   - feed.go: getDiscoveryFeed (its first page cached a second) and searchTracks;
//   - view.go: trackView, the one shape a track is shown in.
package appview
