package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/auth/oauth"
	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
)

// Store keeps logins (sqlite.Store implements it).
type Store interface {
	SaveAuthSession(ctx context.Context, a relay.AuthSession) error
	// AuthSession is nil (no error) for an unknown, expired or revoked
	// token.
	AuthSession(ctx context.Context, tokenHash string, now time.Time) (*relay.AuthSession, error)
	SetAuthSessionPDS(ctx context.Context, tokenHash, pds string) error
	RevokeAuthSession(ctx context.Context, tokenHash string) error
	PruneAuthSessions(ctx context.Context, now time.Time, requestTTL time.Duration) (int64, error)
}

// Config configures a Service.
type Config struct {
	Store Store
	// Directory resolves a handle or DID to its PDS (through the hardened
	// outbound client).
	Directory identity.Directory
	// HTTPClient reaches PDSes (the hardened outbound client).
	HTTPClient *http.Client
	// TokenTTL is how long a login lasts (default 30 days).
	TokenTTL time.Duration
	// PublicURL is the service's origin; cookies are Secure unless it is
	// plain http (loopback only).
	PublicURL string
	// TrustDeclaredHandles shows the handle a DID document declares when it
	// does not verify (--trust-declared-handles: local networks).
	TrustDeclaredHandles bool
	// Page is the web UI's login page, where a browser's login returns
	// (with ?error= a Login code when it failed); default "/".
	Page string
	// OAuth is the OAuth client (NewOAuthApp); nil: app passwords only.
	OAuth *oauth.ClientApp
	Log   *slog.Logger
}

// Service logs users in and tells who a request is from.
type Service struct {
	cfg Config
	log *slog.Logger
}

// New returns a Service.
func New(cfg Config) *Service {
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = 30 * 24 * time.Hour
	}
	if cfg.Page == "" {
		cfg.Page = "/"
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	s := &Service{cfg: cfg, log: cfg.Log}
	if s.log == nil {
		s.log = slog.Default()
	}
	return s
}

// ErrUnauthenticated is a request without a valid login.
var ErrUnauthenticated = errors.New("not logged in, or the session expired")

// User is who a request is from, with a client that writes to their repo.
type User struct {
	Session relay.AuthSession
	// PDS is an API client of the user's PDS, authenticated as them.
	PDS *atclient.APIClient
}

const tokenPrefix = "rly_"

// newToken returns a fresh token and its hash.
func newToken() (token, hash string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("making a token: %w", err)
	}
	token = tokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	return token, hashToken(token), nil
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// start stores a new login and returns its token.
func (s *Service) start(ctx context.Context, a relay.AuthSession) (string, relay.AuthSession, error) {
	token, hash, err := newToken()
	if err != nil {
		return "", a, err
	}
	now := time.Now()
	a.TokenHash, a.CreatedAt, a.ExpiresAt = hash, now, now.Add(s.cfg.TokenTTL)
	if err := s.cfg.Store.SaveAuthSession(ctx, a); err != nil {
		return "", a, err
	}
	return token, a, nil
}

// Authenticate returns the user a request is from: a bearer token
// (Authorization: Bearer rly_...) or the web UI's cookie. A cookie on a
// request that writes must come from this origin.
func (s *Service) Authenticate(r *http.Request) (*User, error) {
	a, err := s.Session(r)
	if err != nil {
		return nil, err
	}
	pds, err := s.pdsClient(r.Context(), a)
	if err != nil {
		return nil, err
	}
	return &User{Session: *a, PDS: pds}, nil
}

// Viewer is who a page is for: the login of the request's cookie or
// token, without resuming its PDS session (a page reads, it writes
// nothing). err wraps ErrUnauthenticated when nobody is logged in.
func (s *Service) Viewer(r *http.Request) (did syntax.DID, handle string, err error) {
	a, err := s.Session(r)
	if err != nil {
		return "", "", err
	}
	return a.DID, a.Handle, nil
}

// Session is the stored login a request carries (Authenticate without the
// PDS client).
func (s *Service) Session(r *http.Request) (*relay.AuthSession, error) {
	ctx := r.Context()
	token, kind := bearer(r), relay.SessionToken
	if token == "" {
		if c, err := r.Cookie(cookieName); err == nil {
			token, kind = c.Value, relay.SessionCookie
		}
	}
	if token == "" || !strings.HasPrefix(token, tokenPrefix) || len(token) > 128 {
		return nil, ErrUnauthenticated
	}
	if kind == relay.SessionCookie && !safeMethod(r.Method) && !sameOrigin(r) {
		return nil, fmt.Errorf("%w: a cross-site request cannot use the login cookie", ErrUnauthenticated)
	}
	a, err := s.cfg.Store.AuthSession(ctx, hashToken(token), time.Now())
	if err != nil {
		return nil, err
	}
	if a == nil || a.Kind != kind {
		return nil, ErrUnauthenticated
	}
	return a, nil
}

// pdsClient resumes the login's PDS session.
func (s *Service) pdsClient(ctx context.Context, a *relay.AuthSession) (*atclient.APIClient, error) {
	switch a.Method {
	case relay.MethodPassword:
		var data atclient.PasswordSessionData
		if err := json.Unmarshal([]byte(a.PDS), &data); err != nil || data.AccountDID != a.DID {
			return nil, fmt.Errorf("%w: the stored PDS session is unusable", ErrUnauthenticated)
		}
		hash := a.TokenHash
		c := atclient.ResumePasswordSession(data, func(ctx context.Context, d atclient.PasswordSessionData) {
			b, err := json.Marshal(d)
			if err == nil {
				err = s.cfg.Store.SetAuthSessionPDS(context.WithoutCancel(ctx), hash, string(b))
			}
			if err != nil {
				s.log.Warn("auth: saving a refreshed PDS session", "did", d.AccountDID, "error", err)
			}
		})
		c.Client = s.cfg.HTTPClient
		return c, nil
	case relay.MethodOAuth:
		if s.cfg.OAuth == nil {
			return nil, fmt.Errorf("%w: OAuth is not configured", ErrUnauthenticated)
		}
		sess, err := s.cfg.OAuth.ResumeSession(ctx, a.DID, a.PDS)
		if err != nil {
			return nil, fmt.Errorf("%w: resuming the OAuth session: %v", ErrUnauthenticated, err)
		}
		return sess.APIClient(), nil
	default:
		return nil, fmt.Errorf("%w: unknown login method %q", ErrUnauthenticated, a.Method)
	}
}

// Revoke ends the login of token (the PDS session is logged out where the
// PDS allows it, best effort).
func (s *Service) Revoke(ctx context.Context, u *User) error {
	if u.Session.Method == relay.MethodOAuth && s.cfg.OAuth != nil {
		if err := s.cfg.OAuth.Logout(ctx, u.Session.DID, u.Session.PDS); err != nil {
			s.log.Info("auth: oauth logout", "did", u.Session.DID, "error", err)
		}
	}
	return s.cfg.Store.RevokeAuthSession(ctx, u.Session.TokenHash)
}

// Prune deletes expired and revoked logins every interval until ctx ends.
func (s *Service) Prune(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := s.cfg.Store.PruneAuthSessions(ctx, time.Now(), time.Hour); err != nil {
			s.log.Warn("auth: pruning sessions", "error", err)
		} else if n > 0 {
			s.log.Info("auth: pruned sessions", "sessions", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// sameOrigin reports whether a browser says r comes from this origin.
func sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		return site == "same-origin"
	}
	o := r.Header.Get("Origin")
	if o == "" {
		return false
	}
	u, err := url.Parse(o)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

// handleOf is the handle shown for ident: its verified one, or with
// TrustDeclaredHandles the declared one; "" when neither.
func (s *Service) handleOf(ident *identity.Identity) string {
	if !ident.Handle.IsInvalidHandle() && ident.Handle != "" {
		return ident.Handle.String()
	}
	if s.cfg.TrustDeclaredHandles {
		if h, err := ident.DeclaredHandle(); err == nil {
			return h.String()
		}
	}
	return ""
}
