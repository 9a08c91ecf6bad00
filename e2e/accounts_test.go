package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	comatproto "github.com/bluesky-social/indigo/api/atproto"

	"github.com/relaymusic/relay/internal/testnet"
)

// TestAccountHiddenAndShown: an account made inactive (deactivated by its
// owner, or taken down by the PDS admin) has its tracks hidden from feed and
// search; made active again, they are shown again. Another account's track
// stays visible throughout.
func TestAccountHiddenAndShown(t *testing.T) {
	cases := []struct {
		name       string
		hide, show func(ctx context.Context, a *testnet.Account) error
	}{
		{"deactivate", tn.DeactivateAccount, tn.ActivateAccount},
		{"takedown", func(ctx context.Context, a *testnet.Account) error { return takedown(ctx, a, true) },
			func(ctx context.Context, a *testnet.Account) error { return takedown(ctx, a, false) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			relay := startRelay(t)
			acct := newAccount(t, ctx, tc.name[:5])
			other := newAccount(t, ctx, "bystander")

			tracks := []created{createTrack(t, ctx, acct, "one"), createTrack(t, ctx, acct, "two")}
			control := createTrack(t, ctx, other, "control")
			for _, tr := range append(tracks, control) {
				waitVisible(t, relay, tr.uri, tr.word, tr.title, visibleWithin)
			}
			waitHandle(t, relay, tracks[0], acct.Handle, handleWithin)

			if err := tc.hide(ctx, acct); err != nil {
				t.Fatal(err)
			}
			for _, tr := range tracks {
				waitGone(t, relay, tr.uri, []string{tr.word}, visibleWithin)
			}
			if mine, err := relay.feedOf(acct.DID); err != nil || len(mine) != 0 {
				t.Errorf("feed holds %d tracks of the hidden account (%v)", len(mine), err)
			}
			// The other account is untouched.
			waitVisible(t, relay, control.uri, control.word, control.title, time.Second)

			if err := tc.show(ctx, acct); err != nil {
				t.Fatal(err)
			}
			for _, tr := range tracks {
				view := waitVisible(t, relay, tr.uri, tr.word, tr.title, visibleWithin)
				if view.CID != tr.cid || view.Handle != acct.Handle {
					t.Errorf("shown again: cid %s handle %q, want %s %q", view.CID, view.Handle, tr.cid, acct.Handle)
				}
			}
			// And the account can publish again.
			fresh := createTrack(t, ctx, acct, "comeback")
			waitVisible(t, relay, fresh.uri, fresh.word, fresh.title, visibleWithin)
			if mine, err := relay.feedOf(acct.DID); err != nil || len(mine) != 3 {
				t.Errorf("feed holds %d tracks of the account shown again (%v), want 3", len(mine), err)
			}
			relay.stop()
		})
	}
}

// TestAccountDeleted: an account deleted on the PDS (by the admin) has its
// tracks removed from feed and search; other accounts keep theirs.
func TestAccountDeleted(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	relay := startRelay(t)
	acct := newAccount(t, ctx, "doomed")
	other := newAccount(t, ctx, "bystander")
	tr := createTrack(t, ctx, acct, "last song")
	control := createTrack(t, ctx, other, "survivor")
	for _, c := range []created{tr, control} {
		waitVisible(t, relay, c.uri, c.word, c.title, visibleWithin)
	}
	if err := comatproto.AdminDeleteAccount(ctx, tn.Admin(), &comatproto.AdminDeleteAccount_Input{Did: acct.DID}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, relay, tr.uri, []string{tr.word, "last song"}, visibleWithin)
	if mine, err := relay.feedOf(acct.DID); err != nil || len(mine) != 0 {
		t.Errorf("feed holds %d tracks of the deleted account (%v)", len(mine), err)
	}
	waitVisible(t, relay, control.uri, control.word, control.title, time.Second)
	relay.stop()
}

// takedown applies or lifts an admin takedown of the account's repo
// (com.atproto.admin.updateSubjectStatus); the firehose carries an #account
// event (active false, status takendown; then active true).
func takedown(ctx context.Context, a *testnet.Account, applied bool) error {
	ref := "e2e"
	in := &comatproto.AdminUpdateSubjectStatus_Input{
		Subject:  &comatproto.AdminUpdateSubjectStatus_Input_Subject{AdminDefs_RepoRef: &comatproto.AdminDefs_RepoRef{Did: a.DID}},
		Takedown: &comatproto.AdminDefs_StatusAttr{Applied: applied, Ref: &ref},
	}
	if _, err := comatproto.AdminUpdateSubjectStatus(ctx, tn.Admin(), in); err != nil {
		return fmt.Errorf("takedown %v of %s: %w", applied, a.DID, err)
	}
	return nil
}

// TestHandleChange: after updateHandle, the account's track views carry the
// new handle, in the feed and in search.
func TestHandleChange(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	relay := startRelay(t)
	acct := newAccount(t, ctx, "rename")
	oldHandle := acct.Handle

	tr := createTrack(t, ctx, acct, "signature")
	waitVisible(t, relay, tr.uri, tr.word, tr.title, visibleWithin)
	waitHandle(t, relay, tr, oldHandle, handleWithin)

	// The PDS serves handles under .test, first label at most 18 characters.
	newHandle := "rn" + word()[:10] + ".test"
	if err := tn.UpdateHandle(ctx, acct, newHandle); err != nil {
		t.Fatal(err)
	}
	waitHandle(t, relay, tr, newHandle, visibleWithin)
	// A track written after the change carries it too.
	later := createTrack(t, ctx, acct, "encore")
	if v := waitVisible(t, relay, later.uri, later.word, later.title, visibleWithin); v.Handle != newHandle {
		t.Errorf("track written after the change has handle %q, want %q", v.Handle, newHandle)
	}
	relay.stop()
}
