package validate

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay/lexicons"
)

const (
	did  = syntax.DID("did:plc:alice5rxbvqptxhmrrkjtu6m")
	rkey = syntax.RecordKey("3mmoojp7etg2a")
	rev  = "3mmoojp7vgo2a"
	cid  = "bafyreib2rxk3rybk3aobmv5cjuql3bm2twh4jo5uxcpjwbdlbbn5gyzmxq"
)

const goodRecord = `{"$type":"app.relay.track","title":"Jóga","artist":"Björk","audioUrl":"https://audio.relay.example/j.mp3","fileType":"mp3","duration":305,"createdAt":"2025-10-03T09:00:00.000Z"}`

// firstVersion is a record exactly as relay's first version wrote it, with
// the features and cover its later versions added.
const firstVersion = `{"$type":"app.relay.track","title":"Hoppípolla","artist":"Sigur Rós","audioUrl":"https://audio.relay.example/3f9a.mp3","fileType":"mp3","createdAt":"2025-10-02T18:04:11.372819Z","features":[{"did":"did:plc:mark4hmc3inwkbiwbx6ndpbq","handle":"mark.example.com","displayName":"mark.example.com"}],"imageUrl":"https://img.relay.example/c.jpg"}`

func nestedArrays(levels int) string {
	return strings.Repeat("[", levels) + strings.Repeat("]", levels)
}

func TestTrackRecords(t *testing.T) {
	with := func(old, new string) string { return strings.Replace(goodRecord, old, new, 1) }
	cases := []struct {
		name   string
		rkey   syntax.RecordKey
		record string
		reason string // "" for a valid record
	}{
		{"valid", rkey, goodRecord, ""},
		{"as the first version wrote it", rkey, firstVersion, ""},
		{"without duration", rkey, with(`"duration":305,`, ""), ""},
		{"rkey not a tid", "self", goodRecord, ReasonBadRKey},
		{"no record", rkey, "", ReasonMissingBody},
		{"missing fileType", rkey, with(`"fileType":"mp3",`, ""), ReasonInvalidRecord},
		{"281-character title", rkey, with("Jóga", strings.Repeat("x", 281)), ReasonInvalidRecord},
		{"280-character title", rkey, with("Jóga", strings.Repeat("é", 280)), ""},
		{"padded past 64 KiB", rkey, with(`"title"`, `"padding":"`+strings.Repeat("x", 70000)+`","title"`), ReasonTooLarge},
		{"wrong $type", rkey, with("app.relay.track", "app.relay.trac"), ReasonInvalidRecord},
		{"duration as a string", rkey, with(`305`, `"305"`), ReasonInvalidRecord},
		{"not JSON", rkey, `{"$type":`, ReasonInvalidRecord},
		{"http audio", rkey, with("https:", "http:"), ReasonInsecureURL},
		{"javascript audio", rkey, with("https://audio.relay.example/j.mp3", "javascript:alert(1)"), ReasonInsecureURL},
		{"audio without host", rkey, with("https://audio.relay.example/j.mp3", "https:///j.mp3"), ReasonInsecureURL},
		{"nesting 32 levels", rkey, with(`"title"`, `"extra":`+nestedArrays(31)+`,"title"`), ""},
		{"nesting 33 levels", rkey, with(`"title"`, `"extra":`+nestedArrays(32)+`,"title"`), ReasonTooDeep},
		{"nesting 9,997 levels", rkey, with(`"title"`, `"extra":`+nestedArrays(9997)+`,"title"`), ReasonTooDeep},
		{"invalid UTF-8", rkey, with("Jóga", "J\xf3ga"), ReasonInvalidUTF8},
		{"an escaped lone surrogate", rkey, with("Jóga", `J\ud800ga`), ReasonInvalidUTF8},
		{"an escaped emoji", rkey, with("Jóga", `J\ud83c\udfb5ga`), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := Track(did, tc.rkey, rev, cid, []byte(tc.record))
			if tc.reason == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				if tr.DID != did || tr.RKey != tc.rkey || tr.Rev != rev || tr.CID != cid || string(tr.Record) != tc.record {
					t.Errorf("track = %+v", tr)
				}
				return
			}
			if tr != nil {
				t.Errorf("a rejected record returned a track: %+v", tr)
			}
			var rej *RejectError
			if !errors.As(err, &rej) {
				t.Fatalf("want a RejectError with reason %s, got %v", tc.reason, err)
			}
			if rej.Reason != tc.reason {
				t.Fatalf("reason = %s, want %s (%v)", rej.Reason, tc.reason, rej.Err)
			}
			if want := "at://" + did.String() + "/app.relay.track/" + tc.rkey.String(); rej.Subject != want {
				t.Errorf("subject = %q, want %q", rej.Subject, want)
			}
			if strings.Contains(rej.Error(), "Björk") {
				t.Errorf("the error carries the record body: %v", rej)
			}
		})
	}
}

func TestTrackFields(t *testing.T) {
	rec := `{"$type":"app.relay.track","title":"Jóga","artist":"Björk","album":"Homogenic","audioUrl":"https://audio.relay.example/j.flac","fileType":"FLAC","duration":305,"createdAt":"2025-10-03T09:00:00.000+02:00","features":[{"did":"did:plc:mark4hmc3inwkbiwbx6ndpbq","displayName":"Mark Bell"}],"imageUrl":"http://img.example/cover.jpg","genre":"art pop","tags":["iceland"],"description":"a song"}`
	tr, err := Track(did, rkey, rev, cid, []byte(rec))
	if err != nil {
		t.Fatal(err)
	}
	if tr.Title != "Jóga" || tr.Artist != "Björk" || tr.Album != "Homogenic" || tr.Genre != "art pop" || tr.Description != "a song" ||
		len(tr.Tags) != 1 || tr.Tags[0] != "iceland" || tr.Duration == nil || *tr.Duration != 305 || tr.FileType != "flac" ||
		tr.AudioURL != "https://audio.relay.example/j.flac" ||
		len(tr.Features) != 1 || tr.Features[0].DisplayName != "Mark Bell" || tr.Features[0].DID != "did:plc:mark4hmc3inwkbiwbx6ndpbq" {
		t.Errorf("fields = %+v", tr)
	}
	if got := tr.CreatedAt.Format("2006-01-02T15:04:05Z07:00"); got != "2025-10-03T07:00:00Z" {
		t.Errorf("createdAt = %s, want it in UTC", got)
	}
	if tr.ImageURL != "" {
		t.Errorf("a plain-http cover must be left out, got %q", tr.ImageURL)
	}
	if string(tr.Record) != rec {
		t.Errorf("record not kept as written")
	}
	tr, err = Track(did, rkey, rev, cid, []byte(firstVersion))
	if err != nil {
		t.Fatal(err)
	}
	if tr.Duration != nil || tr.ImageURL != "https://img.relay.example/c.jpg" || len(tr.Features) != 1 || tr.Features[0].Handle != "mark.example.com" {
		t.Errorf("first-version fields = %+v", tr)
	}
}

// TestReasons: every reason Track gives is listed, so metric series made
// from Reasons cover it.
func TestReasons(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Reasons {
		if seen[r] {
			t.Errorf("reason %s listed twice", r)
		}
		seen[r] = true
	}
	for _, r := range []string{ReasonBadRKey, ReasonMissingBody, ReasonTooLarge, ReasonTooDeep, ReasonInvalidUTF8, ReasonInvalidRecord, ReasonInsecureURL} {
		if !seen[r] {
			t.Errorf("reason %s missing from Reasons", r)
		}
	}
}

// FuzzTrack: a record from the network never panics Track, an error is
// always a RejectError with a listed reason, and an accepted track is inside
// the data model with an https audio URL.
func FuzzTrack(f *testing.F) {
	f.Add(goodRecord)
	f.Add(firstVersion)
	for _, rec := range []string{
		strings.Replace(goodRecord, `"title"`, `"extra":`+nestedArrays(40)+`,"title"`, 1),
		strings.Replace(goodRecord, "Jóga", "J\xf3ga", 1),
		strings.Replace(goodRecord, "Jóga", `J\ud800ga`, 1),
		strings.Replace(goodRecord, "Jóga", `J\ud83c\udfb5ga`, 1),
	} {
		f.Add(rec)
	}
	listed := map[string]bool{}
	for _, r := range Reasons {
		listed[r] = true
	}
	f.Fuzz(func(t *testing.T, rec string) {
		tr, err := Track(did, rkey, rev, cid, []byte(rec))
		if err != nil {
			var rej *RejectError
			if !errors.As(err, &rej) || !listed[rej.Reason] {
				t.Fatalf("error is not a RejectError with a listed reason: %v", err)
			}
			return
		}
		if tr.Title == "" || !strings.HasPrefix(tr.AudioURL, "https://") || len(tr.Record) > MaxRecordBytes {
			t.Fatalf("accepted a bad track: %+v", tr)
		}
		if !utf8.Valid(tr.Record) || lexicons.CheckJSON(tr.Record) != nil {
			t.Fatalf("accepted a record outside the data model: %q", tr.Record)
		}
	})
}
