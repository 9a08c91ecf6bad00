package search_test

import (
	"context"
	"io/fs"
	"path/filepath"
	"testing"

	"github.com/relaymusic/relay"
	"github.com/relaymusic/relay/bench/corpus"
	"github.com/relaymusic/relay/search"
)

// TestBytesPerTrack: the index of the bench corpus stays within its byte
// budget per track (the filter fields are keywords without norms, so they
// add little). Run with -v for the figure.
func TestBytesPerTrack(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 5000-track index")
	}
	const n = 5000
	// 668 bytes/track before the filter fields, 681 with them (5000 tracks,
	// seed 1), 685-698 with the title's whole term (whole.go, against
	// 668-681 in the same session); the bound leaves room for Bleve's
	// segment layout, not for another text field.
	const maxBytes = 750
	g := corpus.New(corpus.Spec{Seed: 1, Tracks: n})
	dir := filepath.Join(t.TempDir(), "index")
	tracks := func(yield func(*relay.Track, error) bool) {
		for range n {
			if !yield(g.Next(), nil) {
				return
			}
		}
	}
	if err := search.Rebuild(context.Background(), dir, 1, tracks, nil); err != nil {
		t.Fatalf("Rebuild: %v", err)
	}
	var size int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		size += info.Size()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	per := float64(size) / n
	t.Logf("%d tracks: %d bytes, %.0f bytes/track", n, size, per)
	if per > maxBytes {
		t.Errorf("%.0f bytes/track, over %d", per, maxBytes)
	}
}
