// Package web is relay's web UI, served by relay serve at / through the
// appview (appview.Config.Pages): the discovery feed with a trending tab,
// search as you type, artist and track pages that preview when shared, an
// embeddable player, and a player with a queue. No build step: HTML
// templates, one stylesheet and one script, embedded.
//
// Pages are rendered on the server from the appview's own hydrated views
// (the Views interface, which *appview.Server implements in
// appview/pages.go); the script then talks to the XRPC queries for search,
// trending and further pages, and plays through /play/{did}/{rkey}, which
// counts the listen and redirects to the audio.
//
// What it guarantees (each locked down by a test):
//   - record text is text: html/template escapes it, and the script sets
//     it with textContent only, never innerHTML (TestHostileRecords,
//     TestBrowserHostile);
//   - a URL from a record reaches a src, an href or a share tag only if
//     validate.IsMediaURL passes it (https, or the service's own origin);
//     the script checks the scheme and origin again before it assigns one,
//     and plays only this service's /play paths (TestHostileRecords,
//     TestBrowserHostile);
//   - every answer carries a strict Content-Security-Policy (no inline
//     script or style, no eval, script-src 'self', frame-ancestors 'none'),
//     nosniff and a Referrer-Policy; only /embed/ may be framed, and it
//     runs no script (TestSecurityHeaders, TestNoInlineScript);
//   - static files are served under content-hashed names, cached for a
//     year, with an ETag (TestAssets);
//   - an unknown track or artist is a 404 page, a foreign or unknown link
//     a 404 from /oembed, and format=xml a 501 (TestPages, TestOEmbed,
//     FuzzTrackLink); share tags and oEmbed name --public-url when it is
//     set, else the request's own host (TestShareTags, TestPublicURL);
//   - pages are served within the appview's limits and counted in its
//     request metrics as method "web"; its plain-text help stays at /xrpc/
//     (TestMounting);
//   - /publish (with Config.Sessions) is the instance's own users' page:
//     an OAuth handle form (GET /login), an app-password form (POST
//     /login/password, a cookie login), then the upload form, sent by the
//     script to POST /tracks with its progress, and the user's tracks,
//     each deleted by DELETE /tracks/{rkey} after a second click (no
//     dialog). It is never cached (no-store); a failed login's ?error= is
//     a code the page words itself, never text from the URL; its CSP lets
//     the OAuth form's redirect go on to an https authorization server and
//     nothing else differs (TestBrowserPublish, TestPublishLoginForm,
//     through a real PDS, auth and publish);
//   - the page fits a 390 px screen without scrolling sideways, search
//     narrows as one types, play requests /play and the queue plays
//     through in order, space plays and pauses but not in the search box,
//     a stale search answer is dropped, the trending tab lists what was
//     played (browser_test.go, in headless Chromium: TestBrowserFeed,
//     TestBrowserLoadMore, TestBrowserSearch, TestBrowserPlayer,
//     TestBrowserPhone, TestBrowserHostile, TestBrowserTrending).
//
// Where things live:
//   - web.go: Views, Config, the routes, the service's origin;
//   - headers.go: the security headers;
//   - pages.go: the feed, artist, track, embed and not-found pages;
//   - oembed.go: GET /oembed and the embed's size;
//   - publish.go: the publish page (Sessions, the login error words);
//   - item.go: a track as templates show it (durations, relative dates,
//     the media URL rule);
//   - assets.go: the static files under hashed names;
//   - templates/: layout.html (head, share tags, search, player),
//     item.html (one track row), and one file per page (publish.html:
//     the login forms, the upload form, my tracks);
//   - static/: app.js (search, tabs, load more, the player, the upload
//     and delete), style.css,
//     icon.svg;
//   - publish_test.go: the publish page in Chromium through a real PDS
//     (internal/testnet), auth, publish and local storage, wired as
//     cmd/relay wires them;
//   - bench_test.go: BenchmarkFeedPage, a full discovery page over
//     loopback from a real store;
//   - screenshots_test.go: the screenshots under docs/screenshots, taken
//     on demand (RELAY_SCREENSHOTS=1).
package web
