package appview

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	_ "github.com/mattn/go-sqlite3" // the store's own driver, to write old rows

	"github.com/relaymusic/relay"
	"github.com/relaymusic/relay/lexicons"
	"github.com/relaymusic/relay/validate"
)

const goodRecord = `{"$type":"app.relay.track","title":"Jóga","artist":"Björk","audioUrl":"https://audio.example/1.mp3","fileType":"mp3","duration":305,"createdAt":"2026-01-02T03:04:05.000Z"`

func deep(n int) string { return strings.Repeat(`{"a":`, n) + "1" + strings.Repeat("}", n) }

// TestServedRecord: whatever the stored bytes, the served record is a JSON
// object in valid UTF-8, within maxServedRecordBytes, with only https URLs.
func TestServedRecord(t *testing.T) {
	cases := []struct {
		name   string
		stored string
		// want: fields of the served record and their values; absent: keys
		// it must not have.
		want   map[string]any
		absent []string
		// contains: text the served record must have, when want cannot say
		// it (numbers past float64's exact range).
		contains string
	}{
		{"as stored", goodRecord + `,"x":{"y":[1,2]}}`, map[string]any{"title": "Jóga", "duration": 305.0}, nil, ""},
		{"big integers stay exact", goodRecord + `,"audioSize":12345678901234567891}`, nil, nil, `"audioSize":12345678901234567891`},
		{"15-digit integers stay exact", goodRecord + `,"audioSize":999999999999999}`, nil, nil, `"audioSize":999999999999999,`},
		{"trailing data replaced", goodRecord + `} {}`, map[string]any{"title": "lifted"}, nil, ""},
		{"javascript cover dropped", goodRecord + `,"imageUrl":"javascript:alert(1)"}`, map[string]any{"title": "Jóga"}, []string{"imageUrl"}, ""},
		{"https cover kept", goodRecord + `,"imageUrl":"https://img.example/c.jpg"}`, map[string]any{"imageUrl": "https://img.example/c.jpg"}, nil, ""},
		{"http audio dropped", strings.Replace(goodRecord, "https://audio", "http://audio", 1) + `}`, map[string]any{"title": "Jóga"}, []string{"audioUrl"}, ""},
		{"invalid utf-8 replaced", goodRecord + ",\"note\":\"a\xffb\",\"k\xfe\":1}", map[string]any{"note": "a\uFFFDb", "k\uFFFD": 1.0}, nil, ""},
		{"deep nesting replaced", goodRecord + `,"x":` + deep(40) + `}`, map[string]any{"title": "lifted"}, []string{"x"}, ""},
		{"nesting at the bound kept", goodRecord + `,"x":` + deep(lexicons.MaxDepth-2) + `}`, map[string]any{"title": "Jóga"}, nil, ""},
		{"brackets in strings are not nesting", goodRecord + `,"x":"` + strings.Repeat("[{", 100) + `\""}`, map[string]any{"title": "Jóga"}, nil, ""},
		{"unknown fields over the cap dropped", goodRecord + `,"junk":"` + strings.Repeat("j", 60<<10) + `"}`, map[string]any{"title": "Jóga", "duration": 305.0}, []string{"junk"}, ""},
		{"description over the cap dropped", goodRecord + `,"description":"` + strings.Repeat("d", 20<<10) + `"}`, map[string]any{"title": "Jóga"}, []string{"description"}, ""},
		{"not json replaced", `{"title":`, map[string]any{"title": "lifted", "$type": relay.TrackCollection}, nil, ""},
		{"not an object replaced", `[1,2,3]`, map[string]any{"title": "lifted"}, nil, ""},
		{"null replaced", `null`, map[string]any{"title": "lifted"}, nil, ""},
		{"over the stored cap replaced", goodRecord + `,"junk":"` + strings.Repeat("j", validate.MaxRecordBytes) + `"}`, map[string]any{"title": "lifted"}, []string{"junk"}, ""},
		{"empty replaced", ``, map[string]any{"title": "lifted", "artist": "lifted artist", "audioUrl": "https://audio.example/lifted.mp3"}, nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := int64(7)
			row := &relay.StoredTrack{Track: relay.Track{
				Collection: relay.TrackCollection,
				Title:      "lifted", Artist: "lifted artist", AudioURL: "https://audio.example/lifted.mp3", FileType: "mp3",
				Duration: &d, CreatedAt: time.Now(), Record: json.RawMessage(tc.stored),
			}}
			b := servedRecord(row)
			if !utf8.Valid(b) {
				t.Fatalf("served record is not valid UTF-8: %q", b)
			}
			if len(b) > maxServedRecordBytes {
				t.Fatalf("served record is %d bytes, over %d", len(b), maxServedRecordBytes)
			}
			var got map[string]any
			if err := json.Unmarshal(b, &got); err != nil || got == nil {
				t.Fatalf("served record %q does not decode as an object: %v", b, err)
			}
			if !bytes.Contains(b, []byte(tc.contains)) {
				t.Errorf("served record lacks %s: %s", tc.contains, b)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("record[%q] = %v, want %v", k, got[k], v)
				}
			}
			for _, k := range tc.absent {
				if _, ok := got[k]; ok {
					t.Errorf("record has %q: %.200s", k, b)
				}
			}
		})
	}
}

// TestOldRowsServePages: rows written before the parser's bounds (deep
// nesting, invalid UTF-8, an unsafe cover inside the record, 64 KiB of
// unknown fields) are in the store as an old database has them; every page
// that shows them still parses, and stays bounded in bytes.
func TestOldRowsServePages(t *testing.T) {
	e := newEnv(t)
	base := time.Now().Add(-time.Hour)
	bad := []string{
		goodRecord + `,"x":` + deep(5000) + `}`,
		goodRecord + ",\"title\":\"J\xf3ga\",\"note\":\"\xc0\xaf\"}",
		goodRecord + `,"imageUrl":"javascript:alert(document.domain)"}`,
		goodRecord + `,"junk":"` + strings.Repeat("<", 63<<10) + `"}`,
	}
	var events []relay.Event
	for range 100 {
		events = append(events, e.track("Jóga", "Björk", base))
	}
	e.add(events...)
	db, err := sql.Open("sqlite3", "file:"+e.db)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Every row gets one of the bad records, and an invalid title as well.
	res, err := db.Exec(`UPDATE tracks SET record = CASE rowid % 4 WHEN 0 THEN ? WHEN 1 THEN ? WHEN 2 THEN ? ELSE ? END, title = ?`,
		bad[0], bad[1], bad[2], bad[3], "J\xf3ga")
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 100 {
		t.Fatalf("updated %d rows", n)
	}

	for _, u := range []string{
		"/xrpc/app.relay.feed.getDiscoveryFeed?limit=100",
		"/xrpc/app.relay.feed.searchTracks?q=bjork&limit=100",
	} {
		t.Run(u, func(t *testing.T) {
			resp, err := http.Get(e.srv.URL + u)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %.300s", resp.StatusCode, b)
			}
			if !utf8.Valid(b) {
				t.Fatal("page is not valid UTF-8")
			}
			// 100 views of records 8 KiB at most, plus their own fields.
			if max := 100 * (maxServedRecordBytes + 2<<10); len(b) > max {
				t.Fatalf("page is %d bytes, over %d", len(b), max)
			}
			t.Logf("page of 100 old rows: %d bytes", len(b))
			var page struct{ Feed, Tracks []map[string]any }
			if err := json.NewDecoder(bytes.NewReader(b)).Decode(&page); err != nil {
				t.Fatalf("page does not parse: %v", err)
			}
			views := append(page.Feed, page.Tracks...)
			if len(views) != 100 {
				t.Fatalf("%d views, want 100", len(views))
			}
			for _, v := range views {
				rec := v["record"].(map[string]any)
				if s, ok := rec["imageUrl"].(string); ok && !strings.HasPrefix(s, "https://") {
					t.Fatalf("record.imageUrl %q served", s)
				}
				if _, ok := rec["junk"]; ok {
					t.Fatal("64 KiB of unknown fields served")
				}
				if v["title"] != "J\uFFFDga" {
					t.Fatalf("title = %q", v["title"])
				}
			}
		})
	}
}

// TestFirstPageCacheBytes: the first-page cache stays within its byte
// bound however many limits are asked for, evicting the oldest pages.
func TestFirstPageCacheBytes(t *testing.T) {
	c := pageCache{ttl: time.Minute, maxBytes: 1000}
	page := func(n int) func() (any, error) {
		return func() (any, error) { return strings.Repeat("x", n), nil }
	}
	for limit := 1; limit <= 100; limit++ {
		if _, err := c.get(limit, page(300)); err != nil {
			t.Fatal(err)
		}
		if _, b := c.size(); b > 1000 {
			t.Fatalf("after limit %d: %d bytes cached, over 1000", limit, b)
		}
	}
	if n, b := c.size(); n != 3 || b != 3*303 { // 300 x, two quotes, a newline
		t.Fatalf("cache holds %d pages, %d bytes; want the 3 newest", n, b)
	}
	// The newest survive: asking again does not build.
	if v, _ := c.get(100, page(1)); len(v.(rawJSON)) != 303 {
		t.Fatalf("limit 100 was rebuilt")
	}
	// A page over the whole bound is served, not kept.
	if v, _ := c.get(7, page(5000)); len(v.(rawJSON)) != 5003 {
		t.Fatal("big page not served")
	}
	if _, b := c.size(); b > 1000 {
		t.Fatalf("%d bytes cached after a page over the bound", b)
	}
}
