package sqlite

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// BenchmarkAudioSweep measures the audio checker's first sweep of a data
// dir made before it: queueing every track (SyncAudioChecks in its default
// batches of 2000, each one write transaction) until none is left. Tracks
// are written straight into the table, with records of a typical size:
// AUDIO_SWEEP_TRACKS of them (default 100000).
//
//	AUDIO_SWEEP_TRACKS=1000000 go test ./sqlite -run '^$' -bench AudioSweep -benchtime 1x
func BenchmarkAudioSweep(b *testing.B) {
	n := 100000
	if v, err := strconv.Atoi(os.Getenv("AUDIO_SWEEP_TRACKS")); err == nil && v > 0 {
		n = v
	}
	s, err := Open(b.Context(), filepath.Join(b.TempDir(), "relay.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if _, err := s.w.ExecContext(b.Context(), `
WITH RECURSIVE i(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM i WHERE n < ?)
INSERT INTO tracks (did, collection, rkey, rev, cid, title, artist, audio_url, record, created_at, indexed_at, sort_at)
SELECT printf('did:plc:bench%08d', n % 50000), 'app.relay.track', printf('3k%011d', n), '3kaaaaaaaaaa2', 'bafy',
	'title ' || n, 'artist', printf('https://audio.example/%d.mp3', n),
	'{"$type":"app.relay.track","title":"t","artist":"a","audioUrl":"https://audio.example/x.mp3","fileType":"mp3","createdAt":"2025-10-02T18:04:11.372Z","padding":"' || printf('%0200d', n) || '"}',
	n, n, n FROM i`, n); err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	for b.Loop() {
		b.StopTimer()
		if _, err := s.w.ExecContext(b.Context(), `DELETE FROM audio_checks; DELETE FROM state WHERE key LIKE 'audio.%'`); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		calls := 0
		for more := true; more; calls++ {
			if more, err = s.SyncAudioChecks(b.Context(), now, 2000); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(calls), "transactions")
	}
	var queued int
	if err := s.r.QueryRowContext(b.Context(), `SELECT COUNT(*) FROM audio_checks`).Scan(&queued); err != nil || queued != n {
		b.Fatalf("queued %d of %d tracks (%v)", queued, n, err)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/track")
}
