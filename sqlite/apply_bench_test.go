package sqlite

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
)

// BenchmarkApplyBatch measures applying batches of 1000 new tracks (each with
// its outbox entry and the cursor), the ingest path's store cost. The
// baseline is the same number of rows inserted into a bare table with one
// prepared statement in one transaction: SQLite's floor on this machine.
func BenchmarkApplyBatch(b *testing.B) {
	const batch = 1000
	rec := []byte(`{"$type":"app.relay.track","title":"Hoppípolla","artist":"Sigur Rós","audioUrl":"https://audio.relay.example/a1.mp3","fileType":"mp3","duration":268,"createdAt":"2025-10-02T18:04:11.372Z"}`)
	b.Run("baseline", func(b *testing.B) {
		s := openBench(b)
		if _, err := s.w.Exec(`CREATE TABLE bare (k TEXT PRIMARY KEY, v TEXT)`); err != nil {
			b.Fatal(err)
		}
		n := 0
		for b.Loop() {
			tx, _ := s.w.Begin()
			st, _ := tx.Prepare(`INSERT INTO bare (k, v) VALUES (?, ?)`)
			for range batch {
				n++
				if _, err := st.Exec(fmt.Sprint(n), rec); err != nil {
					b.Fatal(err)
				}
			}
			tx.Commit()
		}
		b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "rows/s")
	})
	b.Run("apply", func(b *testing.B) {
		s := openBench(b)
		n := 0
		for b.Loop() {
			evs := make([]relay.Event, batch)
			for i := range evs {
				n++
				did := syntax.DID(fmt.Sprintf("did:plc:bench%019d", n%5000))
				rkey := syntax.RecordKey(syntax.NewTID(int64(n), 0).String())
				evs[i] = relay.Event{Kind: relay.TrackPut, DID: did, Track: &relay.Track{
					DID: did, Collection: relay.TrackCollection, RKey: rkey, Rev: syntax.NewTID(int64(n), 1).String(), CID: "bafyreib2rxk3rybk3aobmv5cjuql3bm2twh4jo5uxcpjwbdlbbn5gyzmxq",
					Title: "Hoppípolla", Artist: "Sigur Rós", FileType: "mp3", AudioURL: "https://audio.relay.example/a1.mp3",
					Record: rec, CreatedAt: time.Now(),
				}}
			}
			if _, err := s.ApplyBatch(context.Background(), evs, int64(n)); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
	})
}

func openBench(b *testing.B) *Store {
	b.Helper()
	s, err := Open(context.Background(), b.TempDir()+"/relay.db")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}
