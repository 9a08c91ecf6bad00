package sqlite

import (
	"context"
	"database/sql"
	_ "embed"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
)

// The schemas of data dirs made before a track was its at-uri:
// schemaE4f107f is schema.sql as of e4f107f (`git show e4f107f:schema.sql`),
// main before versions were kept (a version 0 file: actors for the whole
// network); schemaV2 is the last version 2 (`git show d540099:schema.sql`).
var (
	//go:embed testdata/schema_e4f107f.sql
	schemaE4f107f string
	//go:embed testdata/schema_v2.sql
	schemaV2 string
)

// v2Rows are what such a data dir holds (the columns all three share): alice's live track and a
// tombstone (rk2, deleted at rev3), bob's live track, their accounts, an
// outbox whose first entries were pruned, the jetstream cursor and a repo
// backfilled.
var v2Rows = []string{
	`INSERT INTO tracks (did, rkey, rev, deleted, cid, title, artist, tags, features, record, created_at, indexed_at, sort_at)
	 VALUES ('` + alice.String() + `', '` + rk1.String() + `', '` + rev1 + `', 0, 'bafyreib2rxk3rybk3aobmv5cjuql3bm2twh4jo5uxcpjwbdlbbn5gyzmxq',
	 'a', 'Sigur Rós', '["post-rock"]', '[]', '{"$type":"app.relay.track","title":"a"}', 1700000000000000, 1700000000000000, 1700000000000000)`,
	`INSERT INTO tracks (did, rkey, rev, deleted, indexed_at, sort_at)
	 VALUES ('` + alice.String() + `', '` + rk2.String() + `', '` + rev3 + `', 1, 1700000001000000, 1700000001000000)`,
	`INSERT INTO tracks (did, rkey, rev, deleted, cid, title, artist, record, created_at, indexed_at, sort_at)
	 VALUES ('` + bob.String() + `', '` + rk2.String() + `', '` + rev1 + `', 0, 'bafyreib2rxk3rybk3aobmv5cjuql3bm2twh4jo5uxcpjwbdlbbn5gyzmxq',
	 'b', 'Björk', '{"$type":"app.relay.track","title":"b"}', 1700000002000000, 1700000002000000, 1700000002000000)`,
	`INSERT INTO actors (did, handle) VALUES ('` + alice.String() + `', 'alice.example.com'), ('` + bob.String() + `', 'bob.example.com')`,
	`INSERT INTO outbox (seq, did, rkey) VALUES (1, 'x', 'y'), (2, 'x', 'y')`,
	`INSERT INTO outbox (did, rkey) VALUES ('` + alice.String() + `', '` + rk1.String() + `'),
	 ('` + alice.String() + `', '` + rk2.String() + `'), ('` + bob.String() + `', '` + rk2.String() + `')`,
	`DELETE FROM outbox WHERE seq <= 2`,
	`INSERT INTO state (key, value) VALUES ('jetstream.cursor', 1700000003000000)`,
	`INSERT INTO backfill_repos (did, state, records, rev) VALUES ('` + bob.String() + `', 'done', 1, '` + rev1 + `')`,
}

// olderActors turn a version 2 file's actors into version 1's.
var v1Actors = []string{
	`DROP TABLE actors`,
	`CREATE TABLE actors (did TEXT PRIMARY KEY, handle TEXT NOT NULL DEFAULT '', active INTEGER NOT NULL DEFAULT 1,
			status TEXT NOT NULL DEFAULT '', updated_at INTEGER NOT NULL DEFAULT 0,
			handle_attempts INTEGER NOT NULL DEFAULT 0, handle_next_at INTEGER NOT NULL DEFAULT 0)`,
	`CREATE INDEX actors_handle_todo ON actors (handle_next_at) WHERE handle = ''`,
}

// oldFile writes a data dir as relay made it at schema version v (0: as
// e4f107f made it, 1 or 2) and returns its path.
func oldFile(t *testing.T, v int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "relay.db")
	db, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var qs []string
	switch v {
	case 0:
		// Version 0 kept the whole network's accounts, and no user_version.
		qs = append(qs, schemaE4f107f, `INSERT INTO actors (did, handle) VALUES ('did:plc:nobody1', 'n1.example.com')`)
	case 1:
		qs = append(append(qs, schemaV2), v1Actors...)
		qs = append(qs, `PRAGMA user_version = 1`)
	case 2:
		qs = append(qs, schemaV2, `PRAGMA user_version = 2`)
	}
	qs = append(qs, v2Rows...)
	for _, q := range qs {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("making a version %d file: %s: %v", v, q, err)
		}
	}
	return path
}

// TestMigrateV3AtURI: a data dir made by e4f107f (version 0), or of schema
// version 1 or 2, opens with every track, tombstone and outbox entry keyed
// as an app.relay.track, the cursor and the backfill queue kept, the feed
// and lookups working, a tombstone still blocking an older create, and the
// outbox going on from its last sequence with at-uris the search index can
// use.
func TestMigrateV3AtURI(t *testing.T) {
	ctx := context.Background()
	uri := func(d syntax.DID, rk syntax.RecordKey) syntax.ATURI {
		return relay.TrackURI(d, relay.TrackCollection, rk)
	}
	for _, v := range []int{0, 1, 2} {
		t.Run(fmt.Sprintf("from version %d", v), func(t *testing.T) {
			s, err := Open(ctx, oldFile(t, v))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()

			var got int
			if err := s.r.QueryRow(`PRAGMA user_version`).Scan(&got); err != nil || got != schemaVersion {
				t.Errorf("user_version = %d (%v), want %d", got, err, schemaVersion)
			}
			var colls []string
			rows, err := s.r.Query(`SELECT DISTINCT collection FROM tracks UNION ALL SELECT DISTINCT collection FROM outbox`)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var c string
				rows.Scan(&c)
				colls = append(colls, c)
			}
			rows.Close()
			if len(colls) != 2 || colls[0] != relay.TrackCollection || colls[1] != relay.TrackCollection {
				t.Errorf("collections in tracks, outbox = %q, want app.relay.track in both", colls)
			}
			var n int
			s.r.QueryRow(`SELECT COUNT(*) FROM tracks`).Scan(&n)
			if n != 3 {
				t.Errorf("tracks rows = %d, want 3", n)
			}

			feed, err := s.Feed(ctx, nil, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(feed) != 2 || feed[0].Title != "b" || feed[1].Title != "a" {
				t.Fatalf("feed = %v, want b, a", feed)
			}
			a := feed[1]
			if a.URI() != uri(alice, rk1) || a.Handle != "alice.example.com" || len(a.Tags) != 1 || a.Rev != rev1 {
				t.Errorf("alice's track after migration = %s handle %q tags %q rev %s", a.URI(), a.Handle, a.Tags, a.Rev)
			}
			// Paging from the first row's key reaches the second.
			k := feed[0].Key()
			if k.Collection != relay.TrackCollection {
				t.Errorf("feed key = %+v, no collection", k)
			}
			if next, err := s.Feed(ctx, &k, 10); err != nil || len(next) != 1 || next[0].Title != "a" {
				t.Errorf("feed after b = %v, %v", next, err)
			}
			if got, err := s.Tracks(ctx, []syntax.ATURI{uri(bob, rk2), uri(alice, rk2)}); err != nil || len(got) != 1 || got[0].Title != "b" {
				t.Errorf("Tracks(bob's, alice's deleted) = %v, %v", got, err)
			}

			// Version 6's counts: made once by the migration, then kept by
			// the triggers.
			counts := func(when string, wantAlice int64) {
				t.Helper()
				as, err := s.Artists(ctx, []syntax.DID{alice, bob})
				if err != nil {
					t.Fatal(err)
				}
				got := map[syntax.DID]int64{}
				for _, a := range as {
					got[a.DID] = a.TrackCount
				}
				if got[alice] != wantAlice || got[bob] != 1 {
					t.Errorf("track counts %s = %v, want alice %d, bob 1", when, got, wantAlice)
				}
			}
			counts("after migration", 1)
			defer counts("after alice's track came back", 2)

			if c, err := s.Cursor(ctx); err != nil || c != 1700000003000000 {
				t.Errorf("cursor = %d, %v", c, err)
			}
			if bc, err := s.BackfillCounts(ctx); err != nil || bc.Done != 1 || bc.Records != 1 {
				t.Errorf("backfill counts = %+v, %v", bc, err)
			}

			head, err := s.OutboxSeq(ctx)
			if err != nil || head != 5 {
				t.Fatalf("outbox head = %d, %v; want 5", head, err)
			}
			ch, err := s.Changes(ctx, 0, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(ch) != 3 || ch[0].Seq != 3 || ch[0].URI != uri(alice, rk1) || ch[0].Track == nil ||
				ch[1].URI != uri(alice, rk2) || ch[1].Track != nil || ch[2].URI != uri(bob, rk2) {
				t.Errorf("outbox after migration = %+v", ch)
			}

			// The tombstone (rev3) blocks a replayed older create; a newer
			// one brings the track back, at the next sequence number.
			past := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
			if res := apply(t, s, put(alice, rk2, rev2, "resurrected", past)); res.Applied != 0 {
				t.Errorf("an older create over a migrated tombstone applied: %+v", res)
			}
			apply(t, s, put(alice, rk2, "3mmoojp7vgo2d", "back", past))
			ch, err = s.Changes(ctx, head, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(ch) != 1 || ch[0].Seq != head+1 || ch[0].URI != uri(alice, rk2) || ch[0].Track == nil || ch[0].Track.Title != "back" {
				t.Errorf("outbox after a new put = %+v", ch)
			}
			if v == 0 {
				var nobody int
				s.r.QueryRow(`SELECT COUNT(*) FROM actors WHERE did = 'did:plc:nobody1'`).Scan(&nobody)
				if nobody != 0 {
					t.Errorf("version 0's account without tracks kept")
				}
			}
		})
	}
}

// BenchmarkMigrateV3 measures opening a version 2 file of 100k tracks (and
// an outbox of 10k entries): the tracks table is copied whole.
func BenchmarkMigrateV3(b *testing.B) {
	ctx := context.Background()
	const tracks, outbox = 100_000, 10_000
	for range b.N {
		b.StopTimer()
		path := filepath.Join(b.TempDir(), "relay.db")
		db, err := sql.Open("sqlite3", "file:"+path)
		if err != nil {
			b.Fatal(err)
		}
		for _, q := range []string{
			schemaV2,
			fmt.Sprintf(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)
INSERT INTO tracks (did, rkey, rev, cid, title, artist, record, created_at, indexed_at, sort_at)
SELECT 'did:plc:artist' || (i %% 5000), printf('3mmoojp%%06d', i), '3mmoojp7vgo2a', 'bafyreib2rxk3rybk3aobmv5cjuql3bm2twh4jo5uxcpjwbdlbbn5gyzmxq',
	'title ' || i, 'artist', '{"$type":"app.relay.track","title":"title ' || i || '","artist":"artist","audioUrl":"https://audio.example/a.mp3","fileType":"mp3"}',
	1700000000000000 + i, 1700000000000000 + i, 1700000000000000 + i FROM n`, tracks),
			fmt.Sprintf(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)
INSERT INTO outbox (did, rkey) SELECT 'did:plc:artist' || (i %% 5000), printf('3mmoojp%%06d', i) FROM n`, outbox),
			`PRAGMA user_version = 2`,
		} {
			if _, err := db.Exec(q); err != nil {
				b.Fatal(err)
			}
		}
		db.Close()
		b.StartTimer()
		s, err := Open(ctx, path)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		var n int
		if err := s.r.QueryRow(`SELECT COUNT(*) FROM tracks WHERE collection = ?`, relay.TrackCollection).Scan(&n); err != nil || n != tracks {
			b.Fatalf("migrated tracks = %d, %v; want %d", n, err, tracks)
		}
		s.Close()
	}
}
