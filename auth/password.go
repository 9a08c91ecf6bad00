package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
)

// Login is a new login: who, and the token that proves it.
type Login struct {
	DID    syntax.DID
	Handle string
	Token  string
	// Session is the stored login (no token, its hash).
	Session relay.AuthSession
}

// ErrBadCredentials is a login the PDS refused.
var ErrBadCredentials = errors.New("invalid identifier or password")

// CreateSession logs in with an app password: identifier (a handle or a
// DID) is resolved to its PDS through the directory, the PDS session is
// made there (indigo's client, over the hardened HTTP client) and kept
// with the login, and the answer is a bearer token of ours.
func (s *Service) CreateSession(ctx context.Context, identifier, password string) (*Login, error) {
	return s.passwordLogin(ctx, relay.SessionToken, identifier, password)
}

// passwordLogin is CreateSession for a login of kind: a bearer token, or
// the web UI's cookie (the login form, handleLoginForm).
func (s *Service) passwordLogin(ctx context.Context, kind, identifier, password string) (*Login, error) {
	id, err := syntax.ParseAtIdentifier(identifier)
	if err != nil {
		return nil, fmt.Errorf("%w: identifier must be a handle or a DID", ErrBadRequest)
	}
	if password == "" || len(password) > 256 {
		return nil, fmt.Errorf("%w: password must be 1 to 256 bytes", ErrBadRequest)
	}
	ident, err := s.cfg.Directory.Lookup(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("%w: resolving %s: %v", ErrBadCredentials, identifier, err)
	}
	host := ident.PDSEndpoint()
	if host == "" {
		return nil, fmt.Errorf("%w: %s names no PDS", ErrBadCredentials, ident.DID)
	}
	c := atclient.NewAPIClient(host)
	c.Client = s.cfg.HTTPClient
	var out struct {
		AccessJwt  string `json:"accessJwt"`
		RefreshJwt string `json:"refreshJwt"`
		Did        string `json:"did"`
	}
	body := map[string]string{"identifier": ident.DID.String(), "password": password}
	if err := c.Post(ctx, "com.atproto.server.createSession", body, &out); err != nil {
		var apiErr *atclient.APIError
		if errors.As(err, &apiErr) && apiErr.StatusCode < 500 {
			return nil, fmt.Errorf("%w: the PDS said: %s", ErrBadCredentials, apiErr.Message)
		}
		return nil, fmt.Errorf("%w: creating a PDS session at %s: %v", ErrUpstream, host, err)
	}
	// The PDS is the account's own (from its DID document): it must answer
	// for that account and no other.
	if out.Did != ident.DID.String() || out.AccessJwt == "" || out.RefreshJwt == "" {
		return nil, fmt.Errorf("%w: the PDS answered for %q, not %s", ErrBadCredentials, out.Did, ident.DID)
	}
	data, err := json.Marshal(atclient.PasswordSessionData{
		AccessToken: out.AccessJwt, RefreshToken: out.RefreshJwt, AccountDID: ident.DID, Host: host,
	})
	if err != nil {
		return nil, fmt.Errorf("encoding the PDS session: %w", err)
	}
	handle := s.handleOf(ident)
	token, a, err := s.start(ctx, relay.AuthSession{
		Kind: kind, Method: relay.MethodPassword, DID: ident.DID, Handle: handle, PDS: string(data),
	})
	if err != nil {
		return nil, err
	}
	return &Login{DID: ident.DID, Handle: handle, Token: token, Session: a}, nil
}

// ErrBadRequest is a malformed login request.
var ErrBadRequest = errors.New("bad request")

// ErrUpstream is a PDS that could not be reached or failed.
var ErrUpstream = errors.New("the PDS did not answer")
