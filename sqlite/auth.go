package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/bluesky-social/indigo/atproto/auth/oauth"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
)

// SaveAuthSession stores a new login.
func (s *Store) SaveAuthSession(ctx context.Context, a relay.AuthSession) error {
	if _, err := s.w.ExecContext(ctx, `
INSERT INTO auth_sessions (token_hash, kind, method, did, handle, pds, created_at, expires_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, a.TokenHash, a.Kind, a.Method, a.DID.String(), a.Handle, a.PDS,
		a.CreatedAt.UnixMicro(), a.ExpiresAt.UnixMicro()); err != nil {
		return fmt.Errorf("saving session of %s: %w", a.DID, err)
	}
	return nil
}

// AuthSession returns the login whose token hashes to tokenHash, unless it
// is revoked or expired at now (nil, no error).
func (s *Store) AuthSession(ctx context.Context, tokenHash string, now time.Time) (*relay.AuthSession, error) {
	var (
		a                relay.AuthSession
		did              string
		created, expires int64
	)
	err := s.r.QueryRowContext(ctx, `
SELECT token_hash, kind, method, did, handle, pds, created_at, expires_at FROM auth_sessions
WHERE token_hash = ? AND revoked = 0 AND expires_at > ?`, tokenHash, now.UnixMicro()).
		Scan(&a.TokenHash, &a.Kind, &a.Method, &did, &a.Handle, &a.PDS, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading session: %w", err)
	}
	a.DID = syntax.DID(did) // written only from parsed values
	a.CreatedAt, a.ExpiresAt = time.UnixMicro(created), time.UnixMicro(expires)
	return &a, nil
}

// SetAuthSessionPDS replaces what a login keeps of its PDS session (a
// refreshed app-password session's tokens).
func (s *Store) SetAuthSessionPDS(ctx context.Context, tokenHash, pds string) error {
	if _, err := s.w.ExecContext(ctx, `UPDATE auth_sessions SET pds = ? WHERE token_hash = ?`, pds, tokenHash); err != nil {
		return fmt.Errorf("updating session: %w", err)
	}
	return nil
}

// RevokeAuthSession ends a login; revoking one that is gone is no error.
func (s *Store) RevokeAuthSession(ctx context.Context, tokenHash string) error {
	if _, err := s.w.ExecContext(ctx, `UPDATE auth_sessions SET revoked = 1, pds = '' WHERE token_hash = ?`, tokenHash); err != nil {
		return fmt.Errorf("revoking session: %w", err)
	}
	return nil
}

// PruneAuthSessions deletes logins expired or revoked before now, and
// authorization requests older than requestTTL; it returns the logins
// deleted.
func (s *Store) PruneAuthSessions(ctx context.Context, now time.Time, requestTTL time.Duration) (int64, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM auth_sessions WHERE expires_at <= ? OR revoked = 1`, now.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("pruning sessions: %w", err)
	}
	n, _ := res.RowsAffected()
	if _, err := s.w.ExecContext(ctx, `DELETE FROM oauth_requests WHERE created_at <= ?`, now.Add(-requestTTL).UnixMicro()); err != nil {
		return n, fmt.Errorf("pruning oauth requests: %w", err)
	}
	return n, nil
}

// OAuthStore is indigo's oauth.ClientAuthStore over this store's
// oauth_sessions and oauth_requests tables.
func (s *Store) OAuthStore() oauth.ClientAuthStore { return oauthStore{s} }

type oauthStore struct{ s *Store }

var _ oauth.ClientAuthStore = oauthStore{}

func (o oauthStore) GetSession(ctx context.Context, did syntax.DID, sessionID string) (*oauth.ClientSessionData, error) {
	var data string
	err := o.s.r.QueryRowContext(ctx, `SELECT data FROM oauth_sessions WHERE did = ? AND session_id = ?`, did.String(), sessionID).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("oauth session of %s not found", did)
	}
	if err != nil {
		return nil, fmt.Errorf("reading oauth session: %w", err)
	}
	var sess oauth.ClientSessionData
	if err := json.Unmarshal([]byte(data), &sess); err != nil {
		return nil, fmt.Errorf("decoding oauth session: %w", err)
	}
	return &sess, nil
}

func (o oauthStore) SaveSession(ctx context.Context, sess oauth.ClientSessionData) error {
	data, err := json.Marshal(sess)
	if err != nil {
		return fmt.Errorf("encoding oauth session: %w", err)
	}
	if _, err := o.s.w.ExecContext(ctx, `
INSERT INTO oauth_sessions (did, session_id, data, updated_at) VALUES (?, ?, ?, ?)
ON CONFLICT (did, session_id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at`,
		sess.AccountDID.String(), sess.SessionID, string(data), time.Now().UnixMicro()); err != nil {
		return fmt.Errorf("saving oauth session: %w", err)
	}
	return nil
}

func (o oauthStore) DeleteSession(ctx context.Context, did syntax.DID, sessionID string) error {
	if _, err := o.s.w.ExecContext(ctx, `DELETE FROM oauth_sessions WHERE did = ? AND session_id = ?`, did.String(), sessionID); err != nil {
		return fmt.Errorf("deleting oauth session: %w", err)
	}
	return nil
}

func (o oauthStore) GetAuthRequestInfo(ctx context.Context, state string) (*oauth.AuthRequestData, error) {
	var data string
	err := o.s.r.QueryRowContext(ctx, `SELECT data FROM oauth_requests WHERE state = ?`, state).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("no pending oauth request for this state")
	}
	if err != nil {
		return nil, fmt.Errorf("reading oauth request: %w", err)
	}
	var info oauth.AuthRequestData
	if err := json.Unmarshal([]byte(data), &info); err != nil {
		return nil, fmt.Errorf("decoding oauth request: %w", err)
	}
	return &info, nil
}

// SaveAuthRequestInfo is create-only, as the interface asks: a state seen
// twice is an error.
func (o oauthStore) SaveAuthRequestInfo(ctx context.Context, info oauth.AuthRequestData) error {
	data, err := json.Marshal(info)
	if err != nil {
		return fmt.Errorf("encoding oauth request: %w", err)
	}
	if _, err := o.s.w.ExecContext(ctx, `INSERT INTO oauth_requests (state, data, created_at) VALUES (?, ?, ?)`,
		info.State, string(data), time.Now().UnixMicro()); err != nil {
		return fmt.Errorf("saving oauth request: %w", err)
	}
	return nil
}

func (o oauthStore) DeleteAuthRequestInfo(ctx context.Context, state string) error {
	if _, err := o.s.w.ExecContext(ctx, `DELETE FROM oauth_requests WHERE state = ?`, state); err != nil {
		return fmt.Errorf("deleting oauth request: %w", err)
	}
	return nil
}
