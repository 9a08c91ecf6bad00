package auth

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/bluesky-social/indigo/atproto/auth/oauth"
	"github.com/bluesky-social/indigo/atproto/identity"

	"github.com/relaymusic/relay"
)

// Scopes are what relay asks a user's authorization server for: the
// account's identity, and creating and deleting track records, nothing
// else of the repo.
var Scopes = []string{"atproto", "repo:" + relay.TrackCollection + "?action=create&action=delete"}

// NewOAuthApp returns the OAuth client of the service at publicURL. On a
// loopback http origin it is ATProto's loopback development client (its
// client_id is http://localhost?...; no metadata document is fetched);
// elsewhere the client_id is publicURL/oauth/client-metadata.json, which
// Handler serves. Everything the flow fetches (DID documents, the PDS's
// resource metadata, the authorization server) goes through client.
func NewOAuthApp(publicURL string, store oauth.ClientAuthStore, dir identity.Directory, client *http.Client) (*oauth.ClientApp, error) {
	u, err := url.Parse(publicURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("oauth: public url %q is not an origin", publicURL)
	}
	origin := u.Scheme + "://" + u.Host
	var cfg oauth.ClientConfig
	if u.Scheme == "http" {
		// The loopback client form: the redirect must be on 127.0.0.1,
		// not localhost (RFC 8252, and ATProto's profile of it).
		cb := "http://127.0.0.1"
		if p := u.Port(); p != "" {
			cb += ":" + p
		}
		cfg = oauth.NewLocalhostConfig(cb+"/oauth/callback", Scopes)
	} else {
		cfg = oauth.NewPublicConfig(origin+"/oauth/client-metadata.json", origin+"/oauth/callback", Scopes)
	}
	cfg.UserAgent = "relay"
	app := oauth.NewClientApp(&cfg, store)
	app.Client = client
	app.Resolver.Client = client
	app.Dir = dir
	return app, nil
}

// isLoopbackClient reports whether the app is the loopback development
// client, whose metadata nobody fetches.
func isLoopbackClient(app *oauth.ClientApp) bool {
	return strings.HasPrefix(app.Config.ClientID, "http://localhost")
}
