package relay

import (
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"
)

// AuthSession is a login of one of the instance's own users: a bearer
// token of the upload API or a web UI cookie. Stores keep it by the
// SHA-256 of its token, never the token.
type AuthSession struct {
	TokenHash string
	// Kind is SessionToken or SessionCookie.
	Kind string
	// Method is how the user proved who they are: MethodPassword (an app
	// password) or MethodOAuth.
	Method string
	DID    syntax.DID
	Handle string
	// PDS is what writing to the user's repo needs: for MethodPassword the
	// PDS session (JSON), for MethodOAuth the OAuth session's id.
	PDS       string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Session kinds and login methods (AuthSession).
const (
	SessionToken   = "token"
	SessionCookie  = "cookie"
	MethodPassword = "password"
	MethodOAuth    = "oauth"
)
