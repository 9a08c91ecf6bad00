package testnet

import (
	"context"
	"fmt"
	"strings"
	"time"

	comatproto "github.com/bluesky-social/indigo/api/atproto"
	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/syntax"
)

// Account is an account on the network's PDS, with a logged-in client.
type Account struct {
	DID      string
	Handle   string // updated by UpdateHandle
	Email    string
	Password string
	// AccessJwt and RefreshJwt are the tokens createAccount returned. The
	// client refreshes its own copy when the access token expires.
	AccessJwt  string
	RefreshJwt string

	client *atclient.APIClient
}

// Client is an XRPC client for the PDS authenticated as this account, for
// calls the helpers below don't cover.
func (a *Account) Client() *atclient.APIClient { return a.client }

// CreateAccount creates an account with a unique handle prefix+N+".test"
// (prefix: lowercase letters and digits, at most 14 characters, as the PDS
// caps the first label of a handle at 18), a random password and an email.
func (n *Network) CreateAccount(ctx context.Context, handlePrefix string) (*Account, error) {
	if handlePrefix == "" {
		handlePrefix = "user"
	}
	handle := fmt.Sprintf("%s%d.test", strings.ToLower(handlePrefix), n.accounts.Add(1))
	email := strings.TrimSuffix(handle, ".test") + "@example.com" // the PDS checks TLDs
	password := randomHex(12)
	out, err := comatproto.ServerCreateAccount(ctx, atclient.NewAPIClient(n.PDSURL), &comatproto.ServerCreateAccount_Input{
		Handle:   handle,
		Email:    &email,
		Password: &password,
	})
	if err != nil {
		return nil, fmt.Errorf("testnet: createAccount %s: %w", handle, err)
	}
	did, err := syntax.ParseDID(out.Did)
	if err != nil {
		return nil, fmt.Errorf("testnet: createAccount %s: bad DID: %w", handle, err)
	}
	client := atclient.ResumePasswordSession(atclient.PasswordSessionData{
		AccessToken:  out.AccessJwt,
		RefreshToken: out.RefreshJwt,
		AccountDID:   did,
		Host:         n.PDSURL,
	}, nil)
	return &Account{
		DID:        out.Did,
		Handle:     out.Handle,
		Email:      email,
		Password:   password,
		AccessJwt:  out.AccessJwt,
		RefreshJwt: out.RefreshJwt,
		client:     client,
	}, nil
}

// writeRecordInput is the input of createRecord and putRecord. The record is
// sent as given (any JSON value): the generated indigo types only carry
// records of the lexicons they know.
type writeRecordInput struct {
	Repo       string  `json:"repo"`
	Collection string  `json:"collection"`
	Rkey       *string `json:"rkey,omitempty"`
	Validate   *bool   `json:"validate,omitempty"`
	Record     any     `json:"record"`
}

type writeRecordOutput struct {
	URI string `json:"uri"`
	CID string `json:"cid"`
}

// CreateRecord writes a new record with a server-chosen rkey
// (com.atproto.repo.createRecord). validate nil lets the PDS decide: records
// of lexicons it doesn't know are stored as "unknown"; false skips validation.
func (n *Network) CreateRecord(ctx context.Context, acct *Account, collection string, record any, validate *bool) (uri, cid string, err error) {
	var out writeRecordOutput
	in := writeRecordInput{Repo: acct.DID, Collection: collection, Validate: validate, Record: record}
	if err := acct.client.Post(ctx, "com.atproto.repo.createRecord", in, &out); err != nil {
		return "", "", fmt.Errorf("testnet: createRecord %s in %s: %w", collection, acct.DID, err)
	}
	return out.URI, out.CID, nil
}

// PutRecord creates or replaces the record at collection/rkey
// (com.atproto.repo.putRecord).
func (n *Network) PutRecord(ctx context.Context, acct *Account, collection, rkey string, record any, validate *bool) (uri, cid string, err error) {
	var out writeRecordOutput
	in := writeRecordInput{Repo: acct.DID, Collection: collection, Rkey: &rkey, Validate: validate, Record: record}
	if err := acct.client.Post(ctx, "com.atproto.repo.putRecord", in, &out); err != nil {
		return "", "", fmt.Errorf("testnet: putRecord %s/%s in %s: %w", collection, rkey, acct.DID, err)
	}
	return out.URI, out.CID, nil
}

// DeleteRecord deletes collection/rkey (com.atproto.repo.deleteRecord).
func (n *Network) DeleteRecord(ctx context.Context, acct *Account, collection, rkey string) error {
	_, err := comatproto.RepoDeleteRecord(ctx, acct.client, &comatproto.RepoDeleteRecord_Input{
		Repo: acct.DID, Collection: collection, Rkey: rkey,
	})
	if err != nil {
		return fmt.Errorf("testnet: deleteRecord %s/%s in %s: %w", collection, rkey, acct.DID, err)
	}
	return nil
}

// DeactivateAccount deactivates the account (com.atproto.server.deactivateAccount);
// the firehose carries an #account event with active=false.
func (n *Network) DeactivateAccount(ctx context.Context, acct *Account) error {
	if err := comatproto.ServerDeactivateAccount(ctx, acct.client, &comatproto.ServerDeactivateAccount_Input{}); err != nil {
		return fmt.Errorf("testnet: deactivateAccount %s: %w", acct.DID, err)
	}
	return nil
}

// ActivateAccount reactivates a deactivated account (com.atproto.server.activateAccount).
func (n *Network) ActivateAccount(ctx context.Context, acct *Account) error {
	if err := comatproto.ServerActivateAccount(ctx, acct.client); err != nil {
		return fmt.Errorf("testnet: activateAccount %s: %w", acct.DID, err)
	}
	return nil
}

// UpdateHandle changes the account's handle (com.atproto.identity.updateHandle);
// newHandle should end in ".test". The firehose carries an #identity event.
func (n *Network) UpdateHandle(ctx context.Context, acct *Account, newHandle string) error {
	if err := comatproto.IdentityUpdateHandle(ctx, acct.client, &comatproto.IdentityUpdateHandle_Input{Handle: newHandle}); err != nil {
		return fmt.Errorf("testnet: updateHandle %s to %s: %w", acct.DID, newHandle, err)
	}
	acct.Handle = newHandle
	return nil
}

// Datetime formats t as lexicon datetimes are usually written: RFC 3339 in
// UTC with milliseconds, e.g. 2026-11-25T12:00:00.000Z.
func Datetime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}
