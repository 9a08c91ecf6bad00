package validate

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
)

// The fast path (fast.go) is held to indigo's path (trackIndigo): the same
// decision, the same reason, the same Track, for every input.

func reasonOf(err error) string {
	if err == nil {
		return ""
	}
	var rej *RejectError
	if !errors.As(err, &rej) {
		return "not a RejectError: " + err.Error()
	}
	return rej.Reason
}

// agree runs both paths on rec and fails on any difference; it reports
// whether the fast path decided by itself.
func agree(t testing.TB, rec string) (handled bool) {
	t.Helper()
	raw := []byte(rec)
	want, wantErr := trackIndigo(did, rkey, rev, cid, raw)
	got, gotErr := Track(did, rkey, rev, cid, raw)
	if w, g := reasonOf(wantErr), reasonOf(gotErr); w != g {
		t.Fatalf("indigo says %q (%v), the fast path %q (%v) for %q", w, wantErr, g, gotErr, rec)
	}
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("tracks differ for %q:\nindigo %+v\nfast   %+v", rec, want, got)
	}
	_, handled, _ = trackFast("at://x", did, rkey, rev, cid, raw)
	return handled
}

// rec is goodRecord with its first old replaced by new.
func rec(old, new string) string {
	if !strings.Contains(goodRecord, old) {
		panic("no " + old + " in goodRecord")
	}
	return strings.Replace(goodRecord, old, new, 1)
}

// add is goodRecord with fields added (JSON members, without braces).
func add(members string) string {
	return strings.TrimSuffix(goodRecord, "}") + "," + members + "}"
}

func repeat(s string, n int) string { return strings.Repeat(s, n) }

const (
	sha   = `"audioSha256":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"`
	link  = `{"$link":"bafyreib2rxk3rybk3aobmv5cjuql3bm2twh4jo5uxcpjwbdlbbn5gyzmxq"}`
	plc   = "did:plc:mark4hmc3inwkbiwbx6ndpbq"
	fullR = `{"$type":"app.relay.track","title":"Jóga","artist":"Björk","album":"Homogenic","audioUrl":"https://audio.relay.example/j.flac","fileType":"FLAC","duration":305,"createdAt":"2025-10-03T09:00:00.000+02:00","features":[{"did":"did:plc:mark4hmc3inwkbiwbx6ndpbq","displayName":"Mark Bell"},{"did":"did:web:jonsi.example.com","handle":"jonsi.example.com"}],"imageUrl":"https://img.example/cover.jpg","genre":"art pop","tags":["iceland","trip hop"],"description":"a song","audioSize":5120000,"audioMimeType":"audio/flac",` + sha + `}`
)

// seeds are the records of this package's other tests and lexicons', and
// hostile shapes: the fuzz test's corpus and TestFastAgrees's table.
func seeds() []string {
	s := []string{
		goodRecord, firstVersion, fullR,
		// TestTrackRecords
		rec(`"duration":305,`, ""),
		rec(`"fileType":"mp3",`, ""),
		rec("Jóga", repeat("x", 281)),
		rec("Jóga", repeat("é", 280)),
		rec("app.relay.track", "app.relay.trac"),
		rec(`305`, `"305"`),
		`{"$type":`,
		rec("https:", "http:"),
		rec("https://audio.relay.example/j.mp3", "javascript:alert(1)"),
		rec("https://audio.relay.example/j.mp3", "https:///j.mp3"),
		rec(`"title"`, `"extra":`+nestedArrays(31)+`,"title"`),
		rec(`"title"`, `"extra":`+nestedArrays(32)+`,"title"`),
		rec("Jóga", "J\xf3ga"),
		rec("Jóga", `J\ud800ga`),
		rec("Jóga", `J\ud83c\udfb5ga`),
		// TestTrackFields, ExampleTrack
		`{"$type":"app.relay.track","title":"Jóga","artist":"Björk","album":"Homogenic","audioUrl":"https://audio.relay.example/j.flac","fileType":"FLAC","duration":305,"createdAt":"2025-10-03T09:00:00.000+02:00","features":[{"did":"did:plc:mark4hmc3inwkbiwbx6ndpbq","displayName":"Mark Bell"}],"imageUrl":"http://img.example/cover.jpg","genre":"art pop","tags":["iceland"],"description":"a song"}`,
		rec(`"mp3"`, `"MP3"`),
		// lexicons' TestValidateTrack
		`{"$type":"app.relay.track","title":"Hoppípolla","artist":"Sigur Rós","audioUrl":"https://audio.relay.example/3f9a.mp3","fileType":"mp3","duration":240,"createdAt":"2025-10-02T18:04:11.372Z"}`,
		add(`"features":[{"did":"did:plc:ewvi7nxzyoun6zhxrhs64oiz","handle":"jonsi.example.com","displayName":"Jónsi"}]`),
		add(`"features":[{"handle":"jonsi.example.com"}]`),
		add(`"tags":["a","b","c","d","e","f","g","h","i","j","k"]`),
		add(`"genre":"post-rock","tags":["icelandic","ambient"],` + sha + `,"audioSize":5120000,"audioMimeType":"audio/mpeg","description":"live take"`),
		rec(`305`, `305.5`), rec(`305`, `-1`),
		rec(`"2025-10-03T09:00:00.000Z"`, `"yesterday"`),

		// Duplicate keys: encoding/json keeps the last, unchecked earlier.
		rec(`"title":"Jóga"`, `"title":"","title":"Jóga"`),
		rec(`"title":"Jóga"`, `"title":"Jóga","title":""`),
		add(`"x":1.5,"x":1`), add(`"x":1,"x":1.5`),
		add(`"$type":"app.relay.track"`),
		add(`"features":[{"did":"bad","did":"` + plc + `"}]`),
		add(`"features":[{"x":{"$link":"no"},"x":1,"did":"` + plc + `"}]`),
		add(`"extra":{"a":1.5,"a":1}`),
		// Escaped keys.
		rec(`"title"`, `"t\u0069tle"`), rec(`"title"`, `"title\u0000"`), add(`"\u0024link":"x"`),
		// $link, $bytes and blobs, anywhere.
		add(`"extra":` + link), add(`"extra":{"$link":"nope"}`), add(`"extra":{"$link":"bafyreib2rxk3rybk3aobmv5cjuql3bm2twh4jo5uxcpjwbdlbbn5gyzmxq","x":1}`),
		add(`"extra":{"$bytes":"aGVsbG8"}`), add(`"extra":{"$bytes":"!!"}`), add(`"extra":[{"$bytes":"aGVsbG8","y":2}]`),
		add(`"extra":{"$type":"blob","ref":` + link + `,"mimeType":"image/png","size":10}`),
		add(`"extra":{"$type":"blob","ref":` + link + `,"mimeType":"image/png","size":10.5}`),
		add(`"extra":{"$type":"blob","ref":` + link + `,"mimeType":"image/png"}`),
		add(`"extra":{"mimeType":"image/png","cid":"bafyreib2rxk3rybk3aobmv5cjuql3bm2twh4jo5uxcpjwbdlbbn5gyzmxq"}`),
		add(`"extra":{"mimeType":"image/png","cid":"nope"}`), add(`"extra":{"mimeType":"image/png","cid":"x","z":1}`),
		add(`"$link":"x"`), add(`"imageBlob":{"$type":"blob"}`),
		add(`"features":[{"did":"` + plc + `","$type":"blob"}]`),
		add(`"features":[{"mimeType":"image/png","cid":"bafyreib2rxk3rybk3aobmv5cjuql3bm2twh4jo5uxcpjwbdlbbn5gyzmxq"}]`),
		add(`"features":[` + link + `]`),
		// $type, at the top and inside.
		rec(`"$type":"app.relay.track",`, ""), rec(`"app.relay.track"`, `1`), rec(`"app.relay.track"`, `null`),
		rec(`"app.relay.track"`, `"blob"`), rec(`"app.relay.track"`, `""`), rec(`"app.relay.track"`, `"app.relay.track "`),
		rec(`"app.relay.track"`, `"app.relay.tr\u0061ck"`),
		add(`"extra":{"$type":""}`), add(`"extra":{"$type":5}`), add(`"extra":{"$type":null}`), add(`"extra":{"$type":"x.y.z"}`),
		add(`"features":[{"did":"` + plc + `","$type":"app.relay.track#featuredArtist"}]`),
		add(`"features":[{"did":"` + plc + `","$type":""}]`), add(`"features":[{"did":"` + plc + `","$type":[]}]`),
		// Numbers, as the decoder and atdata take them.
		rec(`305`, `305.0`), rec(`305`, `3.05e2`), rec(`305`, `3.05E+2`), rec(`305`, `30500e-2`), rec(`305`, `-0`), rec(`305`, `0`),
		rec(`305`, `1e999`), rec(`305`, `-1e999`), rec(`305`, `1e-400`), rec(`305`, `9007199254740993`),
		rec(`305`, `9223372036854775807`), rec(`305`, `9223372036854775808`), rec(`305`, `-9223372036854775808`),
		rec(`305`, `1e19`), rec(`305`, `01`), rec(`305`, `+1`), rec(`305`, `.5`), rec(`305`, `1.`), rec(`305`, `1e`),
		rec(`305`, `1e+`), rec(`305`, `-`), rec(`305`, `0x10`), rec(`305`, `true`), rec(`305`, `null`), rec(`305`, `[305]`),
		add(`"x":0.5`), add(`"x":1.0`), add(`"x":[1,2.5]`), add(`"x":1e400`), add(`"audioSize":-5`), add(`"audioSize":5e9`),
		// Literals and other values where the lexicon wants something else.
		rec(`"Björk"`, `null`), rec(`"Björk"`, `true`), rec(`"Björk"`, `["Björk"]`), rec(`"Björk"`, `{"name":"Björk"}`),
		rec(`"Björk"`, `{"$link":"x"}`), rec(`"Björk"`, `nul`), add(`"x":nul`), add(`"x":tru`), add(`"x":falsey`),
		add(`"album":null`), add(`"tags":null`), add(`"tags":"a"`), add(`"features":{}`), add(`"features":null`),
		// Whitespace, framing and the top level.
		" \t\n\r" + strings.ReplaceAll(strings.ReplaceAll(goodRecord, ":", " :\n\t"), ",", "\r\n, ") + " \n",
		"\xef\xbb\xbf" + goodRecord, goodRecord + "x", goodRecord + "{}", goodRecord + "\x00", goodRecord + "\f",
		`null`, `[]`, `"x"`, `1`, `{}`, ``, ` `, `{`, `}`, `{"$type":"app.relay.track"}`, `{,}`, `{"a"}`, `{"a":}`, `{"a":1,}`,
		`[` + goodRecord + `]`, rec(`,"artist"`, `,,"artist"`), rec(`"artist":`, `"artist"=`), rec(`}`, `,}`),
		// Strings: controls, escapes, graphemes.
		rec("Jóga", "J\x01ga"), rec("Jóga", "J\x7fga"), rec("Jóga", `J\u0000ga`), rec("Jóga", `J\n\t\/\"\\\b\fga`),
		rec("Jóga", `J\u00f3ga`), rec("Jóga", `J\u00F3ga`), rec("Jóga", `J\xga`), rec("Jóga", `J\u12ga`), rec("Jóga", `\`),
		rec("Jóga", ``), rec("Jóga", ` `), rec("Jóga", repeat("\r\n", 280)), rec("Jóga", repeat(`\r\n`, 281)),
		rec("Jóga", repeat("e\u0301", 280)), rec("Jóga", repeat(`e\u0301`, 281)), rec("Jóga", repeat("👩‍👩‍👧", 280)),
		rec("Jóga", repeat("🇮🇸", 281)), rec("Jóga", repeat("🇮🇸", 280)+"🇮"), rec("Jóga", repeat("x", 3000)),
		rec("Jóga", repeat("é", 1501)), rec("Jóga", "\u0301"), rec("Jóga", "\u200d"), rec("Jóga", `\ud83c\udfb5`),
		rec("Jóga", `\udfb5\ud83c`), rec("Jóga", `\ud83c`), rec("Jóga", "\xed\xa0\x80"),
		add(`"genre":"` + repeat("ü", 64) + `"`), add(`"genre":"` + repeat("u\u0308", 64) + `"`), add(`"genre":"` + repeat("ü", 65) + `"`),
		add(`"description":"` + repeat("\u0915\u094d\u0937", 1000) + `"`), add(`"description":"` + repeat("a", 3001) + `"`),
		// Keys.
		add(`"` + repeat("k", 8192) + `":1`), add(`"` + repeat("k", 8193) + `":1`), add(`"x":{"` + repeat("k", 8193) + `":1}`),
		add(`"":1`), add(`"x":{"":{"":[]}}`), add(manyKeys(63)), add(manyKeys(64)), add(manyKeys(200)),
		add(`"x":{` + manyKeys(70) + `}`), add(`"x":[{"a":1},{"a":1}]`),
		// Nesting.
		add(`"x":` + nestedArrays(31)), add(`"x":` + nestedArrays(32)), add(`"x":` + repeat(`{"a":`, 31) + `1` + repeat(`}`, 31)),
		add(`"features":[{"did":"` + plc + `","x":` + nestedArrays(29) + `}]`), add(`"features":[{"did":"` + plc + `","x":` + nestedArrays(30) + `}]`),
		// Arrays.
		add(`"tags":[]`), add(`"features":[]`), add(`"tags":["a","b","c","d","e","f","g","h","i","j"]`),
		add(`"tags":["a",1]`), add(`"tags":[null]`), add(`"tags":["` + repeat("ß", 65) + `"]`), add(`"tags":[""]`),
		add(`"tags":["a",]`), add(`"tags":[,"a"]`), add(`"tags":["a" "b"]`),
		add(`"features":[` + repeat(`{"did":"`+plc+`"},`, 9) + `{"did":"` + plc + `"}]`),
		add(`"features":[` + repeat(`{"did":"`+plc+`"},`, 10) + `{"did":"` + plc + `"}]`),
		add(`"features":[1]`), add(`"features":[[]]`), add(`"features":[{}]`), add(`"features":[{"did":"did:plc:"}]`),
		add(`"features":[{"did":"did:web:x.example","handle":"X.Example"}]`), add(`"features":[{"did":"` + plc + `","handle":"no"}]`),
		add(`"features":[{"did":"` + plc + `","handle":"a.b","displayName":"` + repeat("ö", 65) + `"}]`),
		add(`"features":[{"did":"` + plc + `","handle":null}]`), add(`"features":[{"did":5}]`),
		add(`"features":[{"did":"did:PLC:abc"}]`), add(`"features":[{"did":"did:plc:ab%2"}]`), add(`"features":[{"did":"did:plc:ab:"}]`),
		// URLs.
		rec(`https://audio.relay.example/j.mp3`, `HTTPS://audio.relay.example/j.mp3`), rec(`https://audio.relay.example/j.mp3`, `https://audio.relay.example/a b.mp3`),
		rec(`https://audio.relay.example/j.mp3`, `https://audio.relay.example/ä.mp3`), rec(`https://audio.relay.example/j.mp3`, `https://u@audio.relay.example/j.mp3`),
		rec(`https://audio.relay.example/j.mp3`, `https://audio.relay.example/`+repeat("a", 2020)), rec(`https://audio.relay.example/j.mp3`, `https:`),
		rec(`https://audio.relay.example/j.mp3`, `https://[::1]:443/a`), rec(`https://audio.relay.example/j.mp3`, `https://%zz/a`),
		rec(`https://audio.relay.example/j.mp3`, `h`+repeat("t", 80)+`:x`), rec(`https://audio.relay.example/j.mp3`, `h`+repeat("t", 81)+`:x`),
		rec(`https://audio.relay.example/j.mp3`, `https://a.example/\u0020`), rec(`https://audio.relay.example/j.mp3`, `https://a.example/\t`),
		add(`"imageUrl":"http://img.example/c.jpg"`), add(`"imageUrl":"img"`), add(`"imageUrl":""`), add(`"imageUrl":"https://img.example/c.jpg"`),
		// Datetimes.
		rec(`2025-10-03T09:00:00.000Z`, `2025-10-03T09:00:00Z`), rec(`2025-10-03T09:00:00.000Z`, `2025-10-03T09:00:00.372819Z`),
		rec(`2025-10-03T09:00:00.000Z`, `2025-10-03T09:00:00.000+00:00`), rec(`2025-10-03T09:00:00.000Z`, `2025-10-03T09:00:00.000-00:00`),
		rec(`2025-10-03T09:00:00.000Z`, `2025-10-03T09:00:00.000`), rec(`2025-10-03T09:00:00.000Z`, `2025-10-03t09:00:00.000z`),
		rec(`2025-10-03T09:00:00.000Z`, `0000-01-01T00:00:00Z`), rec(`2025-10-03T09:00:00.000Z`, `0000-01-01T00:00:00+01:00`),
		rec(`2025-10-03T09:00:00.000Z`, `2025-13-03T09:00:00Z`), rec(`2025-10-03T09:00:00.000Z`, `2025-02-30T09:00:00Z`),
		rec(`2025-10-03T09:00:00.000Z`, `2025-10-03T23:59:60Z`), rec(`2025-10-03T09:00:00.000Z`, `2025-10-03T24:00:00Z`),
		rec(`2025-10-03T09:00:00.000Z`, `2025-10-03T09:00:00.`+repeat("1", 20)+`Z`), rec(`2025-10-03T09:00:00.000Z`, `2025-10-03T09:00:00.`+repeat("1", 21)+`Z`),
		rec(`2025-10-03T09:00:00.000Z`, `2025-10-03T09:00:00,5Z`), rec(`2025-10-03T09:00:00.000Z`, `2025-10-03T09:00:00é5Z`),
		rec(`2025-10-03T09:00:00.000Z`, `2025-10-03T09:00:00+14:00`), rec(`2025-10-03T09:00:00.000Z`, `2025-10-03T09:00:00+24:00`),
		rec(`2025-10-03T09:00:00.000Z`, `2025-10-03T09:00:00+0200`), rec(`2025-10-03T09:00:00.000Z`, ` 2025-10-03T09:00:00Z`),
		rec(`2025-10-03T09:00:00.000Z`, `9999-12-31T23:59:59.999999999-23:59`), rec(`2025-10-03T09:00:00.000Z`, `2025-10-03T09:00:00\u002e5Z`),
		// Other fields' bounds.
		rec(`"mp3"`, `"`+repeat("a", 32)+`"`), rec(`"mp3"`, `"`+repeat("a", 33)+`"`), rec(`"mp3"`, `""`),
		add(`"audioSha256":"` + repeat("a", 63) + `"`), add(`"audioSha256":"` + repeat("a", 65) + `"`),
		add(`"audioMimeType":"` + repeat("a", 129) + `"`), add(`"album":"` + repeat("x", 281) + `"`),
	}
	return s
}

// manyKeys is n distinct unknown members.
func manyKeys(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"k%d":%d`, i, i)
	}
	return b.String()
}

func TestFastPlan(t *testing.T) {
	if planErr != nil || plan == nil {
		t.Fatalf("the fast path is off: %v", planErr)
	}
	if plan.str[fTitle].maxGraphemes != 280 || plan.required&(1<<fCreatedAt) == 0 || plan.tags.maxLen != 10 || plan.featureRequired != 1<<ffDID {
		t.Errorf("the plan does not read the lexicon: %+v", plan)
	}
}

// TestFastAgrees: every seed gets the same answer both ways, and the fast
// path decides the ordinary ones itself.
func TestFastAgrees(t *testing.T) {
	handled := 0
	all := seeds()
	for _, s := range all {
		if agree(t, s) {
			handled++
		}
	}
	for _, s := range []string{goodRecord, firstVersion, fullR} {
		if _, ok, _ := trackFast("at://x", did, rkey, rev, cid, []byte(s)); !ok {
			t.Errorf("the fast path left an ordinary record to indigo: %s", s)
		}
	}
	t.Logf("%d of %d seeds decided by the fast path", handled, len(all))
}

// TestFastRules: each rule of the lexicon broken alone, one field per row:
// the fast path decides it itself, with today's reason.
func TestFastRules(t *testing.T) {
	cases := []struct {
		name, record, reason string
	}{
		{"valid", goodRecord, ""},
		{"every field", fullR, ""},
		{"$type missing", rec(`"$type":"app.relay.track",`, ""), ReasonInvalidRecord},
		{"$type another record", rec("app.relay.track", "app.relay.other"), ReasonInvalidRecord},
		{"$type not a string", rec(`"app.relay.track"`, `["app.relay.track"]`), ReasonInvalidRecord},
		{"title missing", rec(`"title":"Jóga",`, ""), ReasonInvalidRecord},
		{"title empty (minLength)", rec("Jóga", ""), ReasonInvalidRecord},
		{"title 3001 bytes (maxLength)", rec("Jóga", repeat("a", 3001)), ReasonInvalidRecord},
		{"title 281 graphemes (maxGraphemes)", rec("Jóga", repeat("ó", 281)), ReasonInvalidRecord},
		{"title 281 combined graphemes", rec("Jóga", repeat("o\u0301", 281)), ReasonInvalidRecord},
		{"title 280 combined graphemes", rec("Jóga", repeat("o\u0301", 280)), ""},
		{"title not a string", rec(`"Jóga"`, `7`), ReasonInvalidRecord},
		{"title null", rec(`"Jóga"`, `null`), ReasonInvalidRecord},
		{"artist missing", rec(`"artist":"Björk",`, ""), ReasonInvalidRecord},
		{"artist empty", rec("Björk", ""), ReasonInvalidRecord},
		{"artist 281 graphemes", rec("Björk", repeat("ö", 281)), ReasonInvalidRecord},
		{"album 281 graphemes", add(`"album":"` + repeat("x", 281) + `"`), ReasonInvalidRecord},
		{"album not a string", add(`"album":false`), ReasonInvalidRecord},
		{"audioUrl missing", rec(`"audioUrl":"https://audio.relay.example/j.mp3",`, ""), ReasonInvalidRecord},
		{"audioUrl not a uri", rec("https://audio.relay.example/j.mp3", "audio.relay.example/j.mp3"), ReasonInvalidRecord},
		{"audioUrl with a space", rec("https://audio.relay.example/j.mp3", "https://audio.relay.example/a b.mp3"), ReasonInvalidRecord},
		{"audioUrl 2049 bytes", rec("https://audio.relay.example/j.mp3", "https://a.example/"+repeat("a", 2031)), ReasonInvalidRecord},
		{"audioUrl plain http", rec("https:", "http:"), ReasonInsecureURL},
		{"fileType missing", rec(`"fileType":"mp3",`, ""), ReasonInvalidRecord},
		{"fileType 33 bytes", rec(`"mp3"`, `"`+repeat("a", 33)+`"`), ReasonInvalidRecord},
		{"fileType unknown value", rec(`"mp3"`, `"opus"`), ""},
		{"duration negative (minimum)", rec("305", "-1"), ReasonInvalidRecord},
		{"duration a float", rec("305", "305.5"), ReasonInvalidRecord},
		{"duration a string", rec("305", `"305"`), ReasonInvalidRecord},
		{"duration out of float range", rec("305", "1e999"), ReasonInvalidRecord},
		{"createdAt missing", rec(`,"createdAt":"2025-10-03T09:00:00.000Z"`, ""), ReasonInvalidRecord},
		{"createdAt not a datetime", rec("2025-10-03T09:00:00.000Z", "2025-10-03 09:00"), ReasonInvalidRecord},
		{"createdAt without a timezone", rec("2025-10-03T09:00:00.000Z", "2025-10-03T09:00:00.000"), ReasonInvalidRecord},
		{"createdAt -00:00", rec("2025-10-03T09:00:00.000Z", "2025-10-03T09:00:00.000-00:00"), ReasonInvalidRecord},
		{"createdAt month 13", rec("2025-10-03T09:00:00.000Z", "2025-13-03T09:00:00.000Z"), ReasonInvalidRecord},
		{"features not an array", add(`"features":{"did":"` + plc + `"}`), ReasonInvalidRecord},
		{"features 11 (maxLength)", add(`"features":[` + repeat(`{"did":"`+plc+`"},`, 10) + `{"did":"` + plc + `"}]`), ReasonInvalidRecord},
		{"feature not an object", add(`"features":["` + plc + `"]`), ReasonInvalidRecord},
		{"feature without did (required)", add(`"features":[{"handle":"a.example"}]`), ReasonInvalidRecord},
		{"feature did not a did", add(`"features":[{"did":"plc:abc"}]`), ReasonInvalidRecord},
		{"feature handle not a handle", add(`"features":[{"did":"` + plc + `","handle":"not a handle"}]`), ReasonInvalidRecord},
		{"feature displayName 65 graphemes", add(`"features":[{"did":"` + plc + `","displayName":"` + repeat("ä", 65) + `"}]`), ReasonInvalidRecord},
		{"feature displayName 641 bytes", add(`"features":[{"did":"` + plc + `","displayName":"` + repeat("a", 641) + `"}]`), ReasonInvalidRecord},
		{"feature $type empty", add(`"features":[{"did":"` + plc + `","$type":""}]`), ReasonInvalidRecord},
		{"feature unknown field allowed", add(`"features":[{"did":"` + plc + `","role":"vocals"}]`), ""},
		{"imageUrl not a uri", add(`"imageUrl":"cover.jpg"`), ReasonInvalidRecord},
		{"imageUrl plain http is dropped, not refused", add(`"imageUrl":"http://img.example/c.jpg"`), ""},
		{"genre 65 graphemes", add(`"genre":"` + repeat("é", 65) + `"`), ReasonInvalidRecord},
		{"genre 641 bytes", add(`"genre":"` + repeat("a", 641) + `"`), ReasonInvalidRecord},
		{"tags not an array", add(`"tags":"a,b"`), ReasonInvalidRecord},
		{"tags 11 (maxLength)", add(`"tags":["a","b","c","d","e","f","g","h","i","j","k"]`), ReasonInvalidRecord},
		{"tag not a string", add(`"tags":[1]`), ReasonInvalidRecord},
		{"tag 65 graphemes", add(`"tags":["` + repeat("é", 65) + `"]`), ReasonInvalidRecord},
		{"description 3001 graphemes", add(`"description":"` + repeat("a", 3001) + `"`), ReasonInvalidRecord},
		{"description 30001 bytes", add(`"description":"` + repeat("€", 10001) + `"`), ReasonInvalidRecord},
		{"audioSha256 63 bytes (minLength)", add(`"audioSha256":"` + repeat("a", 63) + `"`), ReasonInvalidRecord},
		{"audioSha256 65 bytes (maxLength)", add(`"audioSha256":"` + repeat("a", 65) + `"`), ReasonInvalidRecord},
		{"audioSize negative", add(`"audioSize":-1`), ReasonInvalidRecord},
		{"audioSize a string", add(`"audioSize":"1"`), ReasonInvalidRecord},
		{"audioMimeType 129 bytes", add(`"audioMimeType":"` + repeat("a", 129) + `"`), ReasonInvalidRecord},
		{"unknown field allowed", add(`"mood":{"x":[1,"y",true,null]}`), ""},
		{"unknown field with a float (data model)", add(`"mood":{"x":[1.5]}`), ReasonInvalidRecord},
		{"unknown object with an empty $type", add(`"mood":{"$type":""}`), ReasonInvalidRecord},
		{"unknown key too long", add(`"` + repeat("k", 8193) + `":1`), ReasonInvalidRecord},
		{"not JSON", rec(`}`, ``), ReasonInvalidRecord},
		{"trailing data", goodRecord + "{}", ReasonInvalidRecord},
		{"a control character in a string", rec("Jóga", "J\x01ga"), ReasonInvalidRecord},
		{"nesting 33 levels", add(`"x":` + nestedArrays(32)), ReasonTooDeep},
		{"invalid UTF-8", rec("Jóga", "J\xf3ga"), ReasonInvalidUTF8},
		{"a lone surrogate", rec("Jóga", `J\udc00ga`), ReasonInvalidUTF8},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			raw := []byte(tc.record)
			_, want := trackIndigo(did, rkey, rev, cid, raw)
			if reasonOf(want) != tc.reason {
				t.Fatalf("indigo's path says %q (%v), the table %q", reasonOf(want), want, tc.reason)
			}
			got, handled, err := trackFast("at://"+did.String()+"/app.relay.track/"+rkey.String(), did, rkey, rev, cid, raw)
			if !handled {
				t.Fatal("left to indigo")
			}
			if reasonOf(err) != tc.reason {
				t.Fatalf("fast path says %q (%v), want %q", reasonOf(err), err, tc.reason)
			}
			if tc.reason == "" && got == nil {
				t.Fatal("no track")
			}
			if err != nil && strings.Contains(err.Error(), "Björk") {
				t.Errorf("the error carries the record body: %v", err)
			}
			agree(t, tc.record)
		})
	}
}

// FuzzTrackAgrees: for any input, the fast path and indigo's decide alike
// (decision and reason) and lift the same Track.
//
//	nice -n 15 go test -run '^$' -fuzz FuzzTrackAgrees -fuzztime 3m ./validate/
func FuzzTrackAgrees(f *testing.F) {
	for _, s := range seeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, rec string) {
		agree(t, rec)
	})
}

// BenchmarkTrack measures Track (fast) against indigo's path on the same
// records. Besides ns/op it reports cpu-ns/op, the process's CPU time per
// record (getrusage), which holds still on a shared machine where wall
// time does not.
func BenchmarkTrack(b *testing.B) {
	records := []struct{ name, rec string }{
		{"typical", goodRecord},
		{"first-version", firstVersion},
		{"every-field", fullR},
	}
	for _, r := range records {
		raw := []byte(r.rec)
		for _, p := range []struct {
			name string
			fn   func(syntax.DID, syntax.RecordKey, string, string, []byte) (*relay.Track, error)
		}{{"indigo", trackIndigo}, {"fast", Track}} {
			b.Run(r.name+"/"+p.name, func(b *testing.B) {
				start := cpuTime(b)
				for b.Loop() {
					if _, err := p.fn(did, rkey, rev, cid, raw); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}

// cpuTime is the CPU time the process has used, in ns.
func cpuTime(b *testing.B) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// FuzzTrackFieldsAgree is FuzzTrackAgrees with the fuzzer's strings put
// inside a well-formed record, field by field (written raw between the
// quotes, so escapes are the fuzzer's too), where the rules rather than the
// syntax decide.
//
//	nice -n 15 go test -run '^$' -fuzz FuzzTrackFieldsAgree -fuzztime 3m ./validate/
func FuzzTrackFieldsAgree(f *testing.F) {
	f.Add("Jóga", "Björk", "https://audio.relay.example/j.mp3", "mp3", "2025-10-03T09:00:00.000Z", int64(305), plc, "mark.example.com", "Mark", "iceland", `{"x":[1]}`)
	f.Add(repeat("é", 280), "o\u0301", "https://a.example/"+repeat("a", 2000), "FLAC", "2025-10-02T18:04:11.372819+02:00", int64(-1), "did:web:a.example", "A.B", repeat("ä", 64), repeat("ß", 64), `1.5`)
	f.Add(`J\u00f3ga`, `\ud83c\udfb5`, `https:\/\/a.example\/x`, "", "0000-01-01T00:00:00Z", int64(0), "did:plc:", "a", "", "", `{"$type":""}`)
	f.Add("\r\n", repeat("🇮🇸", 281), "http://a.example/x", repeat("a", 33), "2025-10-03T09:00:00.000-00:00", int64(1<<62), "did:plc:a%", "a.b-", "\u200d", `\n`, `{"$link":"x"}`)
	f.Fuzz(func(t *testing.T, title, artist, audioURL, fileType, createdAt string, duration int64, fdid, fhandle, fname, tag, extra string) {
		rec := fmt.Sprintf(`{"$type":"app.relay.track","title":"%s","artist":"%s","audioUrl":"%s","fileType":"%s","createdAt":"%s","duration":%d,`+
			`"features":[{"did":"%s","handle":"%s","displayName":"%s"}],"tags":["%s"],"extra":%s}`,
			title, artist, audioURL, fileType, createdAt, duration, fdid, fhandle, fname, tag, extra)
		agree(t, rec)
	})
}
