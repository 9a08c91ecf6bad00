package media

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"
)

// seeds is every sample, and a few hostile shapes of them.
func seeds(f *testing.F) {
	for _, name := range []string{"sine-3s.mp3", "sine-2s-bare.mp3", "sine-2s.ogg", "sine-3s.opus",
		"sine-2s.flac", "sine-3s.m4a", "sine-1s-faststart.m4a", "video.mp4", "flac-in-ogg.oga", "cover.webp"} {
		b := sample(f, name)
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Add(sineWAV(0.2, 8000))
	f.Add(append(id3Tag(16), sineWAV(0.1, 8000)...))
	f.Add(encodePNG(f, 3, 2))
	f.Add(encodeJPEG(f, 3, 2))
	f.Add(nested("moov", 4))
	f.Add([]byte("<html>not audio</html>"))
}

// FuzzProbe: Probe never panics, answers in bounded time, and returns a
// duration only in range and an error only of the documented kinds.
func FuzzProbe(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		a, err := Probe(ctx, bytes.NewReader(b), int64(len(b)))
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("undocumented error %v", err)
			}
			return
		}
		if a.Seconds < 0 || a.Seconds > int64(MaxDuration/time.Second) || a.FileType == "" {
			t.Fatalf("accepted %+v", a)
		}
	})
}

// FuzzArtwork: Artwork never panics, and what it accepts is in bounds.
func FuzzArtwork(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		img, err := Artwork(context.Background(), bytes.NewReader(b), int64(len(b)))
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("undocumented error %v", err)
			}
			return
		}
		if img.Width < 1 || img.Height < 1 || img.Width > MaxArtworkSide || img.Height > MaxArtworkSide {
			t.Fatalf("accepted %+v", img)
		}
	})
}
