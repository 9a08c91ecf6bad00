package auth

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
)

// maxLoginBody bounds a createSession request: an identifier and a
// password are a few hundred bytes.
const maxLoginBody = 8 << 10

const cookieName = "relay_session"

// Register adds the login endpoints to mux:
//
//	POST /xrpc/app.relay.auth.createSession  {"identifier","password"} → {"did","handle","token","expiresAt"}
//	POST /xrpc/app.relay.auth.deleteSession  (bearer) revokes that token
//	GET  /xrpc/app.relay.auth.getSession     (bearer or cookie) → {"did","handle","method","expiresAt"}
//	POST /login/password                     the web UI's form (identifier, password): sets the cookie, 303 to the page
//	GET  /login?handle=                      starts OAuth (303 to the authorization server)
//	GET  /oauth/callback                     finishes it: sets the cookie, 303 to the page
//	GET  /oauth/client-metadata.json, /oauth/jwks.json
//	POST /logout                             revokes the cookie's login
func (s *Service) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /xrpc/app.relay.auth.createSession", s.handleCreateSession)
	mux.HandleFunc("POST /xrpc/app.relay.auth.deleteSession", s.handleDeleteSession)
	mux.HandleFunc("GET /xrpc/app.relay.auth.getSession", s.handleGetSession)
	mux.HandleFunc("POST /login/password", s.handleLoginForm)
	mux.HandleFunc("GET /login", s.handleLogin)
	mux.HandleFunc("GET /oauth/callback", s.handleCallback)
	mux.HandleFunc("GET /oauth/client-metadata.json", s.handleClientMetadata)
	mux.HandleFunc("GET /oauth/jwks.json", s.handleJWKS)
	mux.HandleFunc("POST /logout", s.handleLogout)
}

type sessionOut struct {
	DID       string `json:"did"`
	Handle    string `json:"handle,omitempty"`
	Token     string `json:"token,omitempty"`
	Method    string `json:"method,omitempty"`
	ExpiresAt string `json:"expiresAt"`
}

func (s *Service) handleCreateSession(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Identifier string `json:"identifier"`
		Password   string `json:"password"`
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		writeError(w, http.StatusBadRequest, "InvalidRequest", "the body must be application/json")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxLoginBody))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "InvalidRequest", "the body is over 8 KiB")
		return
	}
	if err := json.Unmarshal(body, &in); err != nil {
		writeError(w, http.StatusBadRequest, "InvalidRequest", "the body is not a JSON object with identifier and password")
		return
	}
	l, err := s.CreateSession(r.Context(), strings.TrimSpace(in.Identifier), in.Password)
	if err != nil {
		s.writeAuthError(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "auth: app-password login", "did", l.DID)
	writeJSON(w, http.StatusOK, sessionOut{DID: l.DID.String(), Handle: l.Handle, Token: l.Token, ExpiresAt: formatTime(l.Session.ExpiresAt)})
}

func (s *Service) handleDeleteSession(w http.ResponseWriter, r *http.Request) {
	u, err := s.Authenticate(r)
	if err != nil {
		s.writeAuthError(w, r, err)
		return
	}
	if err := s.Revoke(r.Context(), u); err != nil {
		s.writeAuthError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (s *Service) handleGetSession(w http.ResponseWriter, r *http.Request) {
	u, err := s.Authenticate(r)
	if err != nil {
		s.writeAuthError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, sessionOut{DID: u.Session.DID.String(), Handle: u.Session.Handle, Method: u.Session.Method, ExpiresAt: formatTime(u.Session.ExpiresAt)})
}

func (s *Service) handleLogin(w http.ResponseWriter, r *http.Request) {
	if s.cfg.OAuth == nil {
		writeError(w, http.StatusNotImplemented, "MethodNotImplemented", "oauth login is not configured here; use an app password")
		return
	}
	handle := strings.TrimSpace(r.URL.Query().Get("handle"))
	if handle == "" || len(handle) > 253 {
		s.loginFailed(w, r, LoginInvalid, http.StatusBadRequest, "InvalidRequest", "handle is required")
		return
	}
	// Only an account identifier: StartAuthFlow would also take an
	// authorization server URL, which is the network's to name, not a
	// visitor's.
	if _, err := syntax.ParseAtIdentifier(strings.TrimPrefix(handle, "@")); err != nil {
		s.loginFailed(w, r, LoginInvalid, http.StatusBadRequest, "InvalidRequest", "handle must be a handle or a DID")
		return
	}
	redirect, err := s.cfg.OAuth.StartAuthFlow(r.Context(), strings.TrimPrefix(handle, "@"))
	if err != nil {
		s.log.InfoContext(r.Context(), "auth: oauth login did not start", "error", err)
		s.loginFailed(w, r, LoginOAuth, http.StatusBadRequest, "InvalidRequest", "could not start the login with your server: "+err.Error())
		return
	}
	http.Redirect(w, r, redirect, http.StatusSeeOther)
}

func (s *Service) handleCallback(w http.ResponseWriter, r *http.Request) {
	if s.cfg.OAuth == nil {
		writeError(w, http.StatusNotImplemented, "MethodNotImplemented", "oauth login is not configured here")
		return
	}
	sess, err := s.cfg.OAuth.ProcessCallback(r.Context(), r.URL.Query())
	if err != nil {
		s.log.InfoContext(r.Context(), "auth: oauth callback refused", "error", err)
		s.loginFailed(w, r, LoginCallback, http.StatusBadRequest, "InvalidRequest", "the login did not complete: "+err.Error())
		return
	}
	handle := ""
	if ident, err := s.cfg.Directory.LookupDID(r.Context(), sess.AccountDID); err == nil {
		handle = s.handleOf(ident)
	}
	token, a, err := s.start(r.Context(), relay.AuthSession{
		Kind: relay.SessionCookie, Method: relay.MethodOAuth, DID: sess.AccountDID, Handle: handle, PDS: sess.SessionID,
	})
	if err != nil {
		s.writeAuthError(w, r, err)
		return
	}
	http.SetCookie(w, s.cookie(token, a.ExpiresAt))
	http.Redirect(w, r, s.cfg.Page, http.StatusSeeOther)
}

// handleLoginForm is the web UI's app-password login: a form post from
// this site's own page (another site cannot log a visitor in as itself),
// answered with the cookie and a redirect back to the page, or the page
// with ?error= one of the Login codes.
func (s *Service) handleLoginForm(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		s.backToPage(w, r, LoginCrossSite)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxLoginBody)
	if err := r.ParseForm(); err != nil {
		s.backToPage(w, r, LoginInvalid)
		return
	}
	l, err := s.passwordLogin(r.Context(), relay.SessionCookie, strings.TrimSpace(r.PostForm.Get("identifier")), r.PostForm.Get("password"))
	switch {
	case err == nil:
	case errors.Is(err, ErrBadRequest):
		s.backToPage(w, r, LoginInvalid)
		return
	case errors.Is(err, ErrBadCredentials):
		s.log.InfoContext(r.Context(), "auth: web login refused", "error", err)
		s.backToPage(w, r, LoginCredentials)
		return
	case errors.Is(err, ErrUpstream):
		s.log.InfoContext(r.Context(), "auth: PDS failed", "error", err)
		s.backToPage(w, r, LoginUnreachable)
		return
	default:
		s.log.ErrorContext(r.Context(), "auth: web login failed", "error", err)
		s.backToPage(w, r, LoginFailed)
		return
	}
	s.log.InfoContext(r.Context(), "auth: app-password login (web)", "did", l.DID)
	http.SetCookie(w, s.cookie(l.Token, l.Session.ExpiresAt))
	http.Redirect(w, r, s.cfg.Page, http.StatusSeeOther)
}

// What a browser's failed login is sent back to the page with
// (?error=code): the web UI shows its own words for each, never text from
// the URL, which anyone can write.
const (
	LoginInvalid     = "invalid"     // no handle, or not a handle or DID
	LoginCredentials = "credentials" // the PDS refused the identifier or password
	LoginUnreachable = "unreachable" // the PDS did not answer
	LoginOAuth       = "oauth"       // the OAuth login could not start
	LoginCallback    = "callback"    // the authorization server's answer was refused
	LoginCrossSite   = "cross-site"  // the form was posted from another site
	LoginFailed      = "failed"      // anything else
)

// loginFailed answers a failed login: a browser navigating (the page's
// form) goes back to the page with code, anything else gets the XRPC
// error.
func (s *Service) loginFailed(w http.ResponseWriter, r *http.Request, code string, status int, name, msg string) {
	if navigating(r) {
		s.backToPage(w, r, code)
		return
	}
	writeError(w, status, name, msg)
}

func (s *Service) backToPage(w http.ResponseWriter, r *http.Request, code string) {
	http.Redirect(w, r, s.cfg.Page+"?error="+url.QueryEscape(code), http.StatusSeeOther)
}

// navigating reports whether r is a browser loading a page (a link or a
// form), not a script or an API client.
func navigating(r *http.Request) bool {
	if m := r.Header.Get("Sec-Fetch-Mode"); m != "" {
		return m == "navigate"
	}
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

func (s *Service) handleLogout(w http.ResponseWriter, r *http.Request) {
	// Another site cannot log a user out either.
	if !sameOrigin(r) {
		writeError(w, http.StatusForbidden, "Forbidden", "log out from this site's own page")
		return
	}
	if u, err := s.Authenticate(r); err == nil {
		if err := s.Revoke(r.Context(), u); err != nil {
			s.writeAuthError(w, r, err)
			return
		}
	}
	c := s.cookie("", time.Unix(0, 0))
	c.MaxAge = -1
	http.SetCookie(w, c)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *Service) handleClientMetadata(w http.ResponseWriter, r *http.Request) {
	if s.cfg.OAuth == nil {
		http.NotFound(w, r)
		return
	}
	doc := s.cfg.OAuth.Config.ClientMetadata()
	name, uri := "relay", strings.TrimSuffix(s.cfg.PublicURL, "/")
	doc.ClientName = &name
	if !isLoopbackClient(s.cfg.OAuth) {
		doc.ClientURI = &uri
		if s.cfg.OAuth.Config.IsConfidential() {
			jwks := uri + "/oauth/jwks.json"
			doc.JWKSURI = &jwks
		}
	}
	writeJSON(w, http.StatusOK, doc)
}

func (s *Service) handleJWKS(w http.ResponseWriter, r *http.Request) {
	if s.cfg.OAuth == nil {
		http.NotFound(w, r)
		return
	}
	writeJSON(w, http.StatusOK, s.cfg.OAuth.Config.PublicJWKS())
}

// cookie is the login cookie: HttpOnly, SameSite=Lax, Secure unless the
// service is plain http on loopback.
func (s *Service) cookie(token string, expires time.Time) *http.Cookie {
	return &http.Cookie{
		Name: cookieName, Value: token, Path: "/", Expires: expires,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: !plainLoopback(s.cfg.PublicURL),
	}
}

func plainLoopback(publicURL string) bool {
	u, err := url.Parse(publicURL)
	if err != nil || u.Scheme != "http" {
		return false
	}
	if strings.EqualFold(u.Hostname(), "localhost") {
		return true
	}
	ip := net.ParseIP(u.Hostname())
	return ip != nil && ip.IsLoopback()
}

// writeAuthError answers err: 400 for a malformed request, 401 for no or a
// refused login, 502 when the PDS could not be reached, 500 otherwise.
func (s *Service) writeAuthError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrBadRequest):
		writeError(w, http.StatusBadRequest, "InvalidRequest", err.Error())
	case errors.Is(err, ErrUnauthenticated), errors.Is(err, ErrBadCredentials):
		writeError(w, http.StatusUnauthorized, "AuthenticationRequired", err.Error())
	case r.Context().Err() != nil:
		// The client left; nobody reads this.
	case errors.Is(err, ErrUpstream):
		s.log.InfoContext(r.Context(), "auth: PDS failed", "error", err)
		writeError(w, http.StatusBadGateway, "UpstreamFailure", "could not reach your PDS; try again")
	default:
		s.log.ErrorContext(r.Context(), "auth: request failed", "error", err)
		writeError(w, http.StatusInternalServerError, "InternalServerError", "the login could not be completed")
	}
}

type xrpcError struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

func writeError(w http.ResponseWriter, status int, name, msg string) {
	writeJSON(w, status, xrpcError{Error: name, Message: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
