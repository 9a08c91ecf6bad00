package sqlite

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
)

// TestReserveUpload: admit sees the did's uploads of the window only,
// oldest first; its refusal, and a size of 0, record nothing; a release
// frees the place; rows out of the window are pruned by the next insert.
func TestReserveUpload(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	var seen []int64 // sizes admit was shown, last call
	look := func(at []time.Time, bytes []int64) error {
		for i := 1; i < len(at); i++ {
			if at[i].Before(at[i-1]) {
				t.Errorf("uploads out of order: %v", at)
			}
		}
		seen = bytes
		return nil
	}
	refuse := errors.New("refused")
	steps := []struct {
		name   string
		did    string
		at     time.Duration
		size   int64
		admit  error
		want   []int64 // what admit is shown
		wantID bool
	}{
		{"first", "did:plc:a", 0, 10, nil, nil, true},
		{"another user's never shown", "did:plc:b", time.Minute, 99, nil, nil, true},
		{"second", "did:plc:a", 2 * time.Minute, 20, nil, []int64{10}, true},
		{"refused records nothing", "did:plc:a", 3 * time.Minute, 30, refuse, []int64{10, 20}, false},
		{"size 0 records nothing", "did:plc:a", 4 * time.Minute, 0, nil, []int64{10, 20}, false},
		{"the first left the window", "did:plc:a", 61 * time.Minute, 40, nil, []int64{20}, true},
		{"at the window's edge, out", "did:plc:a", 122 * time.Minute, 50, nil, []int64{}, true},
	}
	for _, st := range steps {
		seen = nil
		id, err := s.ReserveUpload(ctx, st.did, t0.Add(st.at), st.size, time.Hour, func(at []time.Time, bytes []int64) error {
			_ = look(at, bytes)
			return st.admit
		})
		if !errors.Is(err, st.admit) || (st.admit != nil && err != st.admit) {
			t.Fatalf("%s: error %v, want %v as it is", st.name, err, st.admit)
		}
		if fmt.Sprint(seen) != fmt.Sprint(st.want) {
			t.Errorf("%s: admit saw %v, want %v", st.name, seen, st.want)
		}
		if (id != 0) != st.wantID {
			t.Errorf("%s: id %d, want one: %v", st.name, id, st.wantID)
		}
	}
	// Pruned: of did:plc:a only the last upload (at 122 min) is left.
	var n int
	if err := s.r.QueryRow(`SELECT count(*) FROM uploads WHERE did = 'did:plc:a'`).Scan(&n); err != nil || n != 1 {
		t.Errorf("did:plc:a has %d rows (%v), want 1 after pruning", n, err)
	}

	id, err := s.ReserveUpload(ctx, "did:plc:c", t0, 5, time.Hour, look)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ReleaseUpload(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := s.ReleaseUpload(ctx, id); err != nil {
		t.Fatalf("releasing twice: %v", err)
	}
	if err := s.ReleaseUpload(ctx, 0); err != nil {
		t.Fatalf("releasing 0: %v", err)
	}
	if _, err := s.ReserveUpload(ctx, "did:plc:c", t0.Add(time.Second), 5, time.Hour, look); err != nil || len(seen) != 0 {
		t.Errorf("after release admit saw %v (%v), want nothing", seen, err)
	}
}

// TestReserveUploadConcurrent: the read, admit and insert are one
// transaction, so of many concurrent uploads racing for the last place
// exactly one takes it.
func TestReserveUploadConcurrent(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	now := time.Now()
	full := errors.New("full")
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		taken int
	)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.ReserveUpload(ctx, "did:plc:a", now, 1, time.Hour, func(at []time.Time, _ []int64) error {
				if len(at) >= 1 {
					return full
				}
				return nil
			})
			if err != nil && !errors.Is(err, full) {
				t.Error(err)
			}
			if err == nil {
				mu.Lock()
				taken++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if taken != 1 {
		t.Errorf("%d uploads took the one place", taken)
	}
}

// refTrack is a live track naming audio and image, its record carrying sha.
func refTrack(n int, audio, image, sha string) relay.Event {
	did := syntax.DID(fmt.Sprintf("did:plc:ref%019d", n%5000))
	rec := fmt.Sprintf(`{"$type":"app.relay.track","title":"t","artist":"a","audioUrl":%q,"fileType":"mp3","audioSha256":%q,"createdAt":"2025-10-02T18:04:11.372Z"}`, audio, sha)
	return relay.Event{Kind: relay.TrackPut, DID: did, Track: &relay.Track{
		DID: did, Collection: relay.TrackCollection, RKey: syntax.RecordKey(syntax.NewTID(int64(n+1), 0).String()), Rev: syntax.NewTID(int64(n+1), 1).String(),
		Title: "t", Artist: "a", FileType: "mp3", AudioURL: audio, ImageURL: image, Record: []byte(rec), CreatedAt: time.Now(),
	}}
}

// TestObjectReferenced: a live track's audio URL, image URL or audio
// sha256 keeps an object; a deleted track's does not, nor an empty sha.
func TestObjectReferenced(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	live := refTrack(1, "https://m.example/audio/aa.mp3", "https://m.example/art/bb.png", "aa")
	gone := refTrack(2, "https://m.example/audio/cc.mp3", "https://m.example/art/dd.png", "cc")
	shaless := refTrack(3, "https://m.example/audio/ee.mp3", "", "")
	if _, err := s.ApplyBatch(ctx, []relay.Event{live, gone, shaless}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ApplyBatch(ctx, []relay.Event{del(gone.DID, gone.Track.RKey, syntax.NewTID(99, 0).String())}, 0); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, url, sha string
		want           bool
	}{
		{"audio url", "https://m.example/audio/aa.mp3", "", true},
		{"image url", "https://m.example/art/bb.png", "", true},
		{"sha under another url", "https://m.example/audio/aa.m4a", "aa", true},
		{"nothing names it", "https://m.example/audio/zz.mp3", "zz", false},
		{"a deleted track's audio", "https://m.example/audio/cc.mp3", "cc", false},
		{"a deleted track's image", "https://m.example/art/dd.png", "", false},
		{"an empty sha matches no shaless record", "https://m.example/audio/yy.mp3", "", false},
		{"an empty url matches no imageless track", "", "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := s.ObjectReferenced(ctx, c.url, c.sha)
			if err != nil || got != c.want {
				t.Errorf("ObjectReferenced(%q, %q) = %v, %v; want %v", c.url, c.sha, got, err, c.want)
			}
		})
	}
}

// TestTrackMedia: a live track's URLs; none for a deleted or unknown one.
func TestTrackMedia(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	ev := refTrack(1, "https://m.example/audio/aa.mp3", "https://m.example/art/bb.png", "aa")
	if _, err := s.ApplyBatch(ctx, []relay.Event{ev}, 0); err != nil {
		t.Fatal(err)
	}
	tr := ev.Track
	a, i, ok, err := s.TrackMedia(ctx, tr.DID.String(), tr.Collection.String(), tr.RKey.String())
	if err != nil || !ok || a != tr.AudioURL || i != tr.ImageURL {
		t.Errorf("TrackMedia = %q, %q, %v, %v", a, i, ok, err)
	}
	if _, _, ok, err := s.TrackMedia(ctx, tr.DID.String(), tr.Collection.String(), "3zzzzzzzzzzzz"); ok || err != nil {
		t.Errorf("unknown track: ok %v, %v", ok, err)
	}
}

// refIndexes are the indexes ObjectReferenced could use. schema.sql does
// not have them: they took ingest from 28k to 16k events/s (refQuery).
var refIndexes = map[string]string{
	"tracks_audio_url":    `CREATE INDEX IF NOT EXISTS tracks_audio_url ON tracks (audio_url) WHERE deleted = 0`,
	"tracks_image_url":    `CREATE INDEX IF NOT EXISTS tracks_image_url ON tracks (image_url) WHERE deleted = 0 AND image_url != ''`,
	"tracks_audio_sha256": `CREATE INDEX IF NOT EXISTS tracks_audio_sha256 ON tracks (json_extract(record, '$.audioSha256')) WHERE deleted = 0 AND json_extract(record, '$.audioSha256') IS NOT NULL`,
}

// BenchmarkObjectReferenced: the check of a failed publish, a delete and
// the sweep, at 100k live tracks, for an object nothing names (the worst
// case: every EXISTS answers no), as schema.sql has it (a scan of the
// table) and with refIndexes. index-bytes is what the three cost
// on disk (pages in use, the freelist aside).
func BenchmarkObjectReferenced(b *testing.B) {
	const tracks = 100_000
	s := openBench(b)
	ctx := context.Background()
	for i := 0; i < tracks; i += 1000 {
		evs := make([]relay.Event, 1000)
		for j := range evs {
			n := i + j
			sha := fmt.Sprintf("%064x", n)
			evs[j] = refTrack(n, "https://m.example/audio/"+sha+".mp3", "https://m.example/art/"+sha+".png", sha)
		}
		if _, err := s.ApplyBatch(ctx, evs, 0); err != nil {
			b.Fatal(err)
		}
	}
	pages := func() int64 {
		var n int64
		if err := s.w.QueryRow(`SELECT (page_count - freelist_count) * page_size FROM pragma_page_count, pragma_freelist_count, pragma_page_size`).Scan(&n); err != nil {
			b.Fatal(err)
		}
		return n
	}
	missing := "https://m.example/audio/" + fmt.Sprintf("%064x", tracks+1) + ".mp3"
	sha := fmt.Sprintf("%064x", tracks+1)
	run := func(b *testing.B) {
		for b.Loop() {
			used, err := s.ObjectReferenced(ctx, missing, sha)
			if err != nil || used {
				b.Fatalf("ObjectReferenced = %v, %v", used, err)
			}
		}
	}
	b.Run("scan", func(b *testing.B) {
		for name := range refIndexes {
			if _, err := s.w.Exec(`DROP INDEX IF EXISTS ` + name); err != nil {
				b.Fatal(err)
			}
		}
		run(b)
	})
	b.Run("indexed", func(b *testing.B) {
		before, total := pages(), pages()
		for name, ddl := range refIndexes {
			if _, err := s.w.Exec(ddl); err != nil {
				b.Fatal(err)
			}
			b.Logf("%s: %d bytes", name, pages()-before)
			before = pages()
		}
		grown := pages() - total
		b.Logf("the database before them: %d bytes", total)
		var plan []string
		rows, err := s.w.Query(`EXPLAIN QUERY PLAN `+refQuery, missing, sha)
		if err != nil {
			b.Fatal(err)
		}
		for rows.Next() {
			var id, parent, aux int
			var detail string
			if err := rows.Scan(&id, &parent, &aux, &detail); err != nil {
				b.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		b.Logf("plan: %q", plan)
		run(b)
		b.ReportMetric(float64(grown), "index-bytes")
	})
}
