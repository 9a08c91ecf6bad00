package indexer

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/goccy/go-json"

	"github.com/bluesky-social/jetstream/pkg/models"

	"github.com/relaymusic/relay"
	"github.com/relaymusic/relay/lexicons"
	"github.com/relaymusic/relay/validate"
)

const goodRecord = `{"$type":"app.relay.track","title":"Jóga","artist":"Björk","audioUrl":"https://audio.relay.example/j.mp3","fileType":"mp3","duration":305,"createdAt":"2025-10-03T09:00:00.000Z"}`

func commitFrame(did, op, coll, rkey, rev, cid, record string) string {
	c := map[string]any{"rev": rev, "operation": op, "collection": coll, "rkey": rkey}
	if record != "" {
		c["record"] = json.RawMessage(record)
	}
	if cid != "" {
		c["cid"] = cid
	}
	b, _ := json.Marshal(map[string]any{"did": did, "time_us": 1779719009132431, "kind": "commit", "commit": c})
	return string(b)
}

func nestedArrays(levels int) string {
	return strings.Repeat("[", levels) + strings.Repeat("]", levels)
}

func accountFrame(did, status string) string {
	b, _ := json.Marshal(map[string]any{"did": did, "time_us": 1, "kind": "account",
		"account": map[string]any{"active": false, "did": did, "seq": 1, "status": status, "time": "2026-05-25T14:23:29.950Z"}})
	return string(b)
}

func TestParseEvent(t *testing.T) {
	const (
		did  = "did:plc:alice5rxbvqptxhmrrkjtu6m"
		rkey = "3mmoojp7etg2a"
		rev  = "3mmoojp7vgo2a"
		cid  = "bafyreib2rxk3rybk3aobmv5cjuql3bm2twh4jo5uxcpjwbdlbbn5gyzmxq"
		coll = "app.relay.track"
	)
	cases := []struct {
		name   string
		frame  string
		kind   relay.EventKind
		reason string // "" for a valid event
	}{
		{"create", commitFrame(did, "create", coll, rkey, rev, cid, goodRecord), relay.TrackPut, ""},
		{"update", commitFrame(did, "update", coll, rkey, rev, cid, goodRecord), relay.TrackPut, ""},
		{"delete", commitFrame(did, "delete", coll, rkey, rev, "", ""), relay.TrackDelete, ""},
		{"did:web", commitFrame("did:web:artist.example.com", "create", coll, rkey, rev, cid, goodRecord), relay.TrackPut, ""},
		{"identity", `{"did":"` + did + `","time_us":1,"kind":"identity","identity":{"did":"` + did + `","handle":"Alice.Example.com","seq":1,"time":"2026-05-25T14:23:29.950Z"}}`, relay.IdentityUpdate, ""},
		{"identity with handle.invalid", `{"did":"` + did + `","time_us":1,"kind":"identity","identity":{"did":"` + did + `","handle":"handle.invalid","seq":1,"time":"2026-05-25T14:23:29.950Z"}}`, relay.IdentityUpdate, ""},
		{"identity without handle", `{"did":"` + did + `","time_us":1,"kind":"identity","identity":{"did":"` + did + `","seq":1,"time":"2026-05-25T14:23:29.950Z"}}`, relay.IdentityUpdate, ""},
		{"account", `{"did":"` + did + `","time_us":1,"kind":"account","account":{"active":false,"did":"` + did + `","seq":1,"status":"deactivated","time":"2026-05-25T14:23:29.950Z"}}`, relay.AccountStatus, ""},
		{"bad did", commitFrame("alice", "create", coll, rkey, rev, cid, goodRecord), 0, ReasonBadDID},
		{"other collection", commitFrame(did, "create", "app.bsky.feed.post", rkey, rev, cid, `{"$type":"app.bsky.feed.post"}`), 0, ReasonBadCollection},
		{"rkey not a tid", commitFrame(did, "create", coll, "self", rev, cid, goodRecord), 0, validate.ReasonBadRKey},
		{"bad rev", commitFrame(did, "create", coll, rkey, "1", cid, goodRecord), 0, ReasonBadRev},
		{"bad rev on delete", commitFrame(did, "delete", coll, rkey, "", "", ""), 0, ReasonBadRev},
		{"bad cid", commitFrame(did, "create", coll, rkey, rev, "nope", goodRecord), relay.TrackDelete, ReasonBadCID},
		{"unknown operation", commitFrame(did, "archive", coll, rkey, rev, cid, goodRecord), 0, ReasonBadOperation},
		{"create without record", commitFrame(did, "create", coll, rkey, rev, cid, ""), relay.TrackDelete, validate.ReasonMissingBody},
		{"record missing fileType", commitFrame(did, "create", coll, rkey, rev, cid, strings.Replace(goodRecord, `"fileType":"mp3",`, "", 1)), relay.TrackDelete, validate.ReasonInvalidRecord},
		{"http audio", commitFrame(did, "create", coll, rkey, rev, cid, strings.Replace(goodRecord, "https:", "http:", 1)), relay.TrackDelete, validate.ReasonInsecureURL},
		{"record nesting 33 levels", commitFrame(did, "create", coll, rkey, rev, cid, strings.Replace(goodRecord, `"title"`, `"extra":`+nestedArrays(32)+`,"title"`, 1)), relay.TrackDelete, validate.ReasonTooDeep},
		{"record with invalid UTF-8", commitFrame(did, "create", coll, rkey, rev, cid, strings.Replace(goodRecord, "Jóga", "J\xf3ga", 1)), relay.TrackDelete, validate.ReasonInvalidUTF8},
		{"account with a 64-byte status", accountFrame(did, strings.Repeat("x", 64)), relay.AccountStatus, ""},
		{"account with a 65-byte status", accountFrame(did, strings.Repeat("x", 65)), 0, ReasonBadStatus},
		{"bad handle", `{"did":"` + did + `","time_us":1,"kind":"identity","identity":{"did":"` + did + `","handle":"not a handle","seq":1,"time":"x"}}`, 0, ReasonBadHandle},
		{"account without body", `{"did":"` + did + `","time_us":1,"kind":"account"}`, 0, validate.ReasonMissingBody},
		{"unknown kind", `{"did":"` + did + `","time_us":1,"kind":"sync"}`, 0, ReasonUnknownKind},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var evt models.Event
			if err := json.Unmarshal([]byte(tc.frame), &evt); err != nil {
				t.Fatal(err)
			}
			ev, err := ParseEvent(&evt)
			if tc.reason == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				if ev.Kind != tc.kind {
					t.Fatalf("kind = %d, want %d", ev.Kind, tc.kind)
				}
				return
			}
			var rej *validate.RejectError
			if !errors.As(err, &rej) {
				t.Fatalf("want a RejectError with reason %s, got %v", tc.reason, err)
			}
			// A bad create or update with a sound key and rev invalidates
			// what we hold for the key; anything else is dropped whole.
			if ev.Kind != tc.kind {
				t.Errorf("event kind on error = %d, want %d", ev.Kind, tc.kind)
			}
			if ev.Kind == relay.TrackDelete && (ev.Rev == "" || ev.RKey == "" || ev.Collection != relay.TrackCollection) {
				t.Errorf("invalidating delete lacks rev/rkey/collection: %+v", ev)
			}
			if rej.Reason != tc.reason {
				t.Fatalf("reason = %s, want %s (%v)", rej.Reason, tc.reason, rej.Err)
			}
			if strings.Contains(rej.Error(), "Björk") {
				t.Errorf("the error carries the record body: %v", rej)
			}
		})
	}
}

// TestParseEventTrack: the commit's identity (repo, key, rev, cid) reaches
// the track; its fields are validate's (TestTrackFields there).
func TestParseEventTrack(t *testing.T) {
	const (
		did  = "did:plc:alice5rxbvqptxhmrrkjtu6m"
		rkey = "3mmoojp7etg2a"
		rev  = "3mmoojp7vgo2a"
		cid  = "bafyreib2rxk3rybk3aobmv5cjuql3bm2twh4jo5uxcpjwbdlbbn5gyzmxq"
	)
	var evt models.Event
	if err := json.Unmarshal([]byte(commitFrame(did, "update", "app.relay.track", rkey, rev, cid, goodRecord)), &evt); err != nil {
		t.Fatal(err)
	}
	ev, err := ParseEvent(&evt)
	if err != nil {
		t.Fatal(err)
	}
	tr := ev.Track
	if ev.Kind != relay.TrackPut || tr == nil {
		t.Fatalf("event = %+v", ev)
	}
	if tr.DID.String() != did || tr.RKey.String() != rkey || tr.Rev != rev || tr.CID != cid {
		t.Errorf("identity = %s/%s rev %s cid %s", tr.DID, tr.RKey, tr.Rev, tr.CID)
	}
	if tr.Title != "Jóga" || string(tr.Record) != goodRecord {
		t.Errorf("track = %+v", tr)
	}
}

// FuzzParseEvent: network input never panics the parser, and whatever it
// accepts is well-formed.
func FuzzParseEvent(f *testing.F) {
	f.Add(commitFrame("did:plc:alice5rxbvqptxhmrrkjtu6m", "create", "app.relay.track", "3mmoojp7etg2a", "3mmoojp7vgo2a", "bafyreib2rxk3rybk3aobmv5cjuql3bm2twh4jo5uxcpjwbdlbbn5gyzmxq", goodRecord))
	f.Add(`{"did":"did:plc:x","kind":"identity","identity":{"handle":"a.b"}}`)
	const (
		did  = "did:plc:alice5rxbvqptxhmrrkjtu6m"
		rkey = "3mmoojp7etg2a"
		rev  = "3mmoojp7vgo2a"
		cid  = "bafyreib2rxk3rybk3aobmv5cjuql3bm2twh4jo5uxcpjwbdlbbn5gyzmxq"
	)
	for _, rec := range []string{
		strings.Replace(goodRecord, `"title"`, `"extra":`+nestedArrays(40)+`,"title"`, 1),
		strings.Replace(goodRecord, "Jóga", "J\xf3ga", 1),
		strings.Replace(goodRecord, "Jóga", `J\ud800ga`, 1),
		strings.Replace(goodRecord, "Jóga", `J\ud83c\udfb5ga`, 1),
	} {
		f.Add(commitFrame(did, "create", "app.relay.track", rkey, rev, cid, rec))
	}
	f.Add(accountFrame(did, strings.Repeat("x", 65)))
	f.Fuzz(func(t *testing.T, frame string) {
		var evt models.Event
		if json.Unmarshal([]byte(frame), &evt) != nil {
			return
		}
		ev, err := ParseEvent(&evt)
		if err != nil {
			var rej *validate.RejectError
			if !errors.As(err, &rej) {
				t.Fatalf("error is not a RejectError: %v", err)
			}
			return
		}
		if ev.Kind == relay.TrackPut && (ev.Track == nil || ev.Track.Title == "" || !strings.HasPrefix(ev.Track.AudioURL, "https://")) {
			t.Fatalf("accepted a bad track: %+v", ev.Track)
		}
		if ev.Kind == relay.TrackPut && (!utf8.Valid(ev.Track.Record) || lexicons.CheckJSON(ev.Track.Record) != nil) {
			t.Fatalf("accepted a record outside the data model: %q", ev.Track.Record)
		}
		if len(ev.Status) > MaxStatusBytes {
			t.Fatalf("accepted a status of %d bytes", len(ev.Status))
		}
	})
}

func TestEventLabels(t *testing.T) {
	for _, tc := range []struct{ kind, op, wantKind, wantOp string }{
		{"commit", "create", "commit", "create"},
		{"commit", "archive", "commit", "other"},
		{"identity", "", "identity", ""},
		{"account", "x", "account", ""},
		{"sync", "", "other", ""},
		{"anything at all", "", "other", ""},
	} {
		if k, o := eventLabels(tc.kind, tc.op); k != tc.wantKind || o != tc.wantOp {
			t.Errorf("eventLabels(%q, %q) = %q, %q", tc.kind, tc.op, k, o)
		}
	}
}
