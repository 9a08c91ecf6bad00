package demo

import (
	"context"
	"fmt"
	"strings"
	"time"

	comatproto "github.com/bluesky-social/indigo/api/atproto"
	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/syntax"
)

const trackNSID = "app.relay.track"

// handleDomain is what the local PDS serves handles under (dev mode, its
// hostname localhost).
const handleDomain = ".test"

// account is a demo account with a client logged in as it.
type account struct {
	Artist
	client *atclient.APIClient
}

// writeCatalogue stores the media, makes the accounts and writes every
// track record, good and hostile, through com.atproto.repo.createRecord.
func (d *Demo) writeCatalogue(ctx context.Context, m Media) error {
	accts := map[string]*account{}
	for _, a := range append(artists, artist{Handle: hostileHandle, Name: "Prankster"}) {
		acct, err := d.createAccount(ctx, a.Handle+handleDomain)
		if err != nil {
			return err
		}
		acct.Name = a.Name
		accts[a.Handle] = acct
		if a.Handle != hostileHandle {
			d.Artists = append(d.Artists, acct.Artist)
		}
	}

	// One cover per album, and one per artist for its singles.
	covers := map[string]string{}
	for name, al := range albums {
		u, err := putBlob(ctx, m, "art", "png", "image/png", artPNG(al.From, al.To, al.Shape))
		if err != nil {
			return err
		}
		covers[name] = u
	}
	byHandle := map[string]artist{}
	for _, a := range artists {
		byHandle[a.Handle] = a
		u, err := putBlob(ctx, m, "art", "png", "image/png", artPNG(a.From, a.To, a.Shape))
		if err != nil {
			return err
		}
		covers["single:"+a.Handle] = u
	}

	now := time.Now()
	for i, t := range tracks {
		a := byHandle[t.Artist]
		acct := accts[t.Artist]
		audio, err := putBlob(ctx, m, "audio", "wav", "audio/wav", chordWAV(t.Chord, audioSeconds))
		if err != nil {
			return err
		}
		img := covers[t.Album]
		if t.Album == "" {
			img = covers["single:"+t.Artist]
		}
		rec := map[string]any{
			"$type":    trackNSID,
			"title":    t.Title,
			"artist":   a.Name,
			"audioUrl": audio,
			"fileType": "wav",
			"duration": int(audioSeconds),
			"imageUrl": img,
			"genre":    a.Genre,
			"tags":     t.Tags,
			// Minutes apart within a day too, so the order is total.
			"createdAt": datetime(now.Add(-time.Duration(t.DaysAgo)*24*time.Hour - time.Duration(i)*time.Minute)),
		}
		if t.Album != "" {
			rec["album"] = t.Album
		}
		tr := Track{Title: t.Title, Artist: a.Name, Album: t.Album, Genre: a.Genre, Tags: t.Tags, AudioURL: audio, ImageURL: img}
		if t.Feat != "" {
			f := accts[t.Feat]
			// As relay's first version wrote them: the DID always, the
			// display name falling back to the handle.
			rec["features"] = []map[string]any{{"did": f.DID, "handle": f.Handle, "displayName": f.Name}}
			tr.Featured = f.Handle
		}
		if tr.URI, err = createRecord(ctx, acct, rec); err != nil {
			return err
		}
		d.Tracks = append(d.Tracks, tr)
	}

	prank := accts[hostileHandle]
	audio, err := putBlob(ctx, m, "audio", "wav", "audio/wav", chordWAV([]float64{b4, f4}, audioSeconds))
	if err != nil {
		return err
	}
	for _, h := range hostile {
		rec := map[string]any{
			"$type":     trackNSID,
			"title":     h.title,
			"artist":    "Prankster",
			"audioUrl":  audio,
			"fileType":  "wav",
			"createdAt": datetime(now),
		}
		if h.edit != nil {
			h.edit(rec)
		}
		uri, err := createRecord(ctx, prank, rec)
		if err != nil {
			return fmt.Errorf("demo: hostile record (%s): %w", h.what, err)
		}
		d.Hostile = append(d.Hostile, Hostile{What: h.what, Title: h.title, Reason: h.reason, URI: uri})
	}
	return nil
}

// audioSeconds is each track's length.
const audioSeconds = 4.0

// createAccount makes an account with exactly this handle on the PDS.
func (d *Demo) createAccount(ctx context.Context, handle string) (*account, error) {
	email := strings.TrimSuffix(handle, handleDomain) + "@example.com" // the PDS checks TLDs
	password := randomPassword()
	out, err := comatproto.ServerCreateAccount(ctx, atclient.NewAPIClient(d.Network.PDSURL), &comatproto.ServerCreateAccount_Input{
		Handle: handle, Email: &email, Password: &password,
	})
	if err != nil {
		return nil, fmt.Errorf("demo: createAccount %s: %w", handle, err)
	}
	did, err := syntax.ParseDID(out.Did)
	if err != nil {
		return nil, fmt.Errorf("demo: createAccount %s: bad DID: %w", handle, err)
	}
	client := atclient.ResumePasswordSession(atclient.PasswordSessionData{
		AccessToken: out.AccessJwt, RefreshToken: out.RefreshJwt, AccountDID: did, Host: d.Network.PDSURL,
	}, nil)
	return &account{Artist: Artist{Handle: out.Handle, DID: out.Did}, client: client}, nil
}

// createRecord writes rec to the account's repo. The record goes as JSON
// of its own: indigo's generated types carry only lexicons they know.
func createRecord(ctx context.Context, a *account, rec map[string]any) (string, error) {
	in := map[string]any{"repo": a.DID, "collection": trackNSID, "record": rec}
	var out struct {
		URI string `json:"uri"`
	}
	if err := a.client.Post(ctx, "com.atproto.repo.createRecord", in, &out); err != nil {
		return "", fmt.Errorf("demo: createRecord in %s: %w", a.Handle, err)
	}
	return out.URI, nil
}

// datetime is how lexicon datetimes are usually written.
func datetime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
