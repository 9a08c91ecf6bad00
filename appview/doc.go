// Package appview is relay's HTTP face: the XRPC queries defined by the
// app.relay.feed and app.relay.actor lexicons, the health endpoint and the Prometheus metrics.
//
// It reads only: tracks from the store, hits from the search index. Every bad
// parameter is an XRPC error ({"error":"InvalidRequest","message":...}, HTTP
// 400), never a 500.
//
// What it guarantees against clients (each locked down by a test):
//   - no client holds a connection: the http.Server it builds (HTTPServer)
//     bounds reading the headers and the whole request (Limits); a query
//     with a body is refused at once with 400 and the connection closed
//     (TestSlowRequests); headers past MaxHeaderBytes get 431
//     (TestHeaderBound);
//   - at most MaxInFlight requests are served at once; one more is answered
//     503 {"error":"Overloaded"} at once (TestInFlightBound);
//   - every answer carries X-Content-Type-Options: nosniff, and only /xrpc/
//     answers allow other origins (TestResponseHeaders), and answer an
//     OPTIONS preflight with 204, the methods, ATProto's headers and a
//     max-age, before the in-flight bound (TestPreflight);
//   - /.well-known/did.json serves the service's did:web document only
//     when an identity is configured, one whose DID names the public URL's
//     host (NewServiceIdentity, TestNewServiceIdentity, TestDIDDocument);
//   - a client that leaves mid-request is a quiet cancellation: logged at
//     debug, counted with status 499, never a 5xx (TestClientGoneMidSearch);
//   - a view's record is the stored record decoded (depth at most 32, at
//     most 64 KiB) and encoded again, never the stored bytes: valid UTF-8,
//     audioUrl and imageUrl only if https. A record whose encoding passes
//     8 KiB keeps its known lexicon fields but description; a row that does
//     not decode (an old database may hold one) is served a record rebuilt
//     from its lifted fields, so every page parses (TestServedRecord,
//     TestOldRowsServePages). Pages are bounded in bytes that way, per view,
//     rather than cut short: search cursors belong to the index;
//   - every query's real answers match its output lexicon, checked with
//     indigo's lexicon package (TestAnswersMatchLexicons); getArtistFeed
//     pages never repeat or skip while tracks come and go
//     (TestArtistFeedPaging), nor do the pages of any list endpoint (the
//     feeds, both searches, getTrending's day and week) while tracks are
//     put at the cursor's exact position, updated and deleted and plays are
//     booked in the hour to come between pages (TestPagingUnderChurn);
//   - the feed's first-page cache holds at most 4 MiB, oldest evicted
//     first (TestFirstPageCacheBytes);
//   - every track view carries audioStatus (ok, missing, unchecked,
//     unreachable: the audio checker's last word, audiocheck/). A track
//     whose audio is missing is in no list (feeds, trending, search) but
//     getTracks still shows it by its uri, so a shared link can say why it
//     will not play.
//
// Where things live:
//   - server.go: routing, the health endpoint, request metrics;
//     Config.Media (package storage's Handler) mounted at /audio/ and
//     /art/;
//   - metrics.go: Metrics, created against the registry given; /metrics
//     serves Config.Gatherer, so only what the process registered there is
//     exposed (TestHealthAndMetrics);
//   - limits.go: Limits, the http.Server, and what every request passes
//     before routing (headers, the in-flight bound, bodies refused);
//   - xrpc.go: XRPC errors and parameter parsing (FuzzParams);
//   - feed.go: getDiscoveryFeed (its first page cached a second) and
//     searchTracks (sort top/latest with relevance/newest as aliases; the
//     artist, genre and tag filters, an artist's handle resolved through
//     the store), and their parameters;
//   - artist.go: getTracks, getArtistFeed and getArtist, and their
//     parameters (an unknown or hidden artist is 404 NotFound);
//   - search_artists.go: searchArtists (ArtistSearcher, answered by the
//     index given when it can), its hits hydrated with one Artists query
//     and those hidden since the index applied left out
//     (TestSearchArtistsEndpoint, TestSearchArtistsPaging);
//   - identity.go: the service's did:web identity and document, and the
//     CORS preflight answer;
//   - view.go: trackView, the one shape a track is shown in, and
//     artistView; every page's uploader and featured artists come from one
//     store query for the page (Store.Artists), never one per track;
//   - record.go: the record as a view serves it;
//   - recordcache.go: served records kept between pages by row version
//     (at-uri, rev, cid; a row changes only with a newer rev, so nothing
//     is invalidated), 8 MiB in two generations (TestRecordCache);
//   - plays.go: GET /play/{did}/{rkey} (the play counted through
//     PlayCounter, the client found behind Config.TrustedProxies; 302 to
//     the audio, no-store, no-referrer; HEAD uncounted; 404 NotFound for a
//     track not shown or without playable audio) and getTrending, ranked
//     over closed hours the cursor pins (TestPlay, TestPlayListeners,
//     TestTrendingWindows, TestTrendingPaging);
//   - trending.go: the ranking cache behind getTrending: the head of each
//     window's ranking (trendingHead positions) computed once per window
//     and closed hour, concurrent askers waiting for the one computation,
//     each page checked against the store (Store.Tracks) for tracks that
//     left; past the head, and for cursors of older hours, the store
//     (BenchmarkTrending, a week's pages over 480k play rows, the first
//     and the one after 950: 0.25-0.56 s each before, 6-28 ms after, on
//     a loaded 2-core machine);
//   - pages.go: what the web UI renders from (DiscoveryFeed, ArtistFeed,
//     Artist, Track; ErrNotFound), the same views with every URL that
//     fails validate.IsMediaURL blanked; Config.Pages mounts it at / and
//     the plain-text help stays at /xrpc/.
package appview
