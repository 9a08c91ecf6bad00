// Package auth logs the instance's own users in, so that they can publish:
// an app password for scripts and the CLI
// (app.relay.auth.createSession, answered with a bearer token of ours), and
// ATProto OAuth for the web UI (indigo's atproto/auth/oauth: PAR, PKCE,
// DPoP), kept behind an opaque cookie.
//
// What it guarantees:
//   - a token or cookie is 32 random bytes shown to its holder once; the
//     store keeps only its SHA-256, so a copy of the database logs nobody
//     in (TestTokensStoredHashed);
//   - every login expires (Config.TokenTTL, default 30 days) and can be
//     revoked at once (deleteSession, /logout); an expired, revoked or
//     unknown token is 401 AuthenticationRequired, never a 5xx
//     (TestSessionLifecycle);
//   - the web UI logs in with a form (POST /login/password: the same
//     app-password login, kept behind the cookie) that another site cannot
//     post (login CSRF); a browser's failed login, there or through OAuth,
//     goes back to Config.Page with ?error= one of the Login codes, never
//     the error's text (TestOAuthEndpoints here, web's TestPublishLoginForm);
//   - a cookie is HttpOnly, SameSite=Lax, Secure outside loopback; a
//     request that writes with a cookie must come from this origin
//     (Origin or Sec-Fetch-Site), so another site cannot publish or delete
//     in a user's name (TestCookieCrossOrigin);
//   - the PDS is reached only through the HTTP client given (the hardened
//     outbound client), found through the identity directory given; a
//     refreshed app-password session is saved back, so a token outlives
//     the PDS's short access tokens;
//   - OAuth asks only for what publishing needs: "atproto" and
//     repo:app.relay.track (create and delete), not the whole repo.
//
// Files: auth.go (Service, sessions, Authenticate), password.go (the
// app-password login), oauth.go (the OAuth client and its endpoints),
// http.go (the HTTP endpoints).
package auth
