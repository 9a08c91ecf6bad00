package demo

import (
	"bytes"
	"encoding/binary"
	"image/png"
	"testing"
)

// TestChordWAV: the files are valid PCM WAV of the length asked, small,
// and every track sounds different.
func TestChordWAV(t *testing.T) {
	seen := map[string]string{}
	total := 0
	for _, tr := range tracks {
		b := chordWAV(tr.Chord, audioSeconds)
		total += len(b)
		if string(b[0:4]) != "RIFF" || string(b[8:16]) != "WAVEfmt " || string(b[36:40]) != "data" {
			t.Fatalf("%s: not a canonical WAV header: % x", tr.Title, b[:44])
		}
		le := binary.LittleEndian
		if got := le.Uint32(b[4:8]); int(got) != len(b)-8 {
			t.Errorf("%s: RIFF size %d, file %d", tr.Title, got, len(b))
		}
		if rate, data := le.Uint32(b[24:28]), le.Uint32(b[40:44]); rate != sampleRate || int(data) != int(audioSeconds*sampleRate) || int(data) != len(b)-44 {
			t.Errorf("%s: rate %d, data %d bytes (file %d)", tr.Title, rate, data, len(b))
		}
		// Not silence: the samples swing around 128.
		lo, hi := byte(255), byte(0)
		for _, s := range b[44:] {
			lo, hi = min(lo, s), max(hi, s)
		}
		if hi-lo < 100 {
			t.Errorf("%s: samples only span %d..%d", tr.Title, lo, hi)
		}
		if other, dup := seen[string(b)]; dup {
			t.Errorf("%s sounds exactly like %s", tr.Title, other)
		}
		seen[string(b)] = tr.Title
	}
	if total > 1<<20 {
		t.Errorf("the catalogue's audio is %d bytes, want under 1 MiB", total)
	}
}

// TestArtPNG: every cover decodes as a PNG, and no two covers are alike.
func TestArtPNG(t *testing.T) {
	seen := map[string]string{}
	check := func(name string, b []byte) {
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if img.Bounds().Dx() != 256 || img.Bounds().Dy() != 256 {
			t.Errorf("%s: %v", name, img.Bounds())
		}
		if len(b) > 64<<10 {
			t.Errorf("%s: %d bytes", name, len(b))
		}
		if other, dup := seen[string(b)]; dup {
			t.Errorf("cover of %s is the cover of %s", name, other)
		}
		seen[string(b)] = name
	}
	for name, al := range albums {
		check(name, artPNG(al.From, al.To, al.Shape))
	}
	for _, a := range artists {
		check(a.Name, artPNG(a.From, a.To, a.Shape))
	}
}

// TestCatalogue: every track names a known artist, album and featured
// artist, and titles are unique (the test matches tracks by title).
func TestCatalogue(t *testing.T) {
	known := map[string]bool{}
	for _, a := range artists {
		known[a.Handle] = true
	}
	titles := map[string]bool{}
	for _, tr := range tracks {
		if !known[tr.Artist] || (tr.Feat != "" && (!known[tr.Feat] || tr.Feat == tr.Artist)) {
			t.Errorf("%s: artist %q, feat %q", tr.Title, tr.Artist, tr.Feat)
		}
		if _, ok := albums[tr.Album]; tr.Album != "" && !ok {
			t.Errorf("%s: unknown album %q", tr.Title, tr.Album)
		}
		if titles[tr.Title] {
			t.Errorf("title %q twice", tr.Title)
		}
		titles[tr.Title] = true
	}
}
