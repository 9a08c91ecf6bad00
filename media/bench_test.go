package media

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// BenchmarkProbe: Sniff and Duration of each sample, from memory.
func BenchmarkProbe(b *testing.B) {
	for _, name := range []string{"sine-3s.mp3", "sine-2s-bare.mp3", "sine-2s.ogg", "sine-3s.opus",
		"sine-2s.flac", "sine-3s.m4a"} {
		data := sample(b, name)
		b.Run(name, func(b *testing.B) { benchProbe(b, data) })
	}
	b.Run("wav", func(b *testing.B) { benchProbe(b, sineWAV(2, 8000)) })
}

func benchProbe(b *testing.B, data []byte) {
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	r := bytes.NewReader(data)
	for b.Loop() {
		if _, err := Probe(context.Background(), r, int64(len(data))); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWAV50MB: Probe of a 50 MB WAV on disk. Memory stays flat: the
// bytes allocated per op (B/op) and the heap in use after the run less before (heap-growth-B)
// are those of the headers, not the file.
func BenchmarkWAV50MB(b *testing.B) {
	path := filepath.Join(b.TempDir(), "big.wav")
	size := writeWAV(b, path, 300)
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Probe(context.Background(), f, size); err != nil {
			b.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapInuse)-float64(before.HeapInuse), "heap-growth-B")
	b.ReportMetric(float64(size), "file-B")
}

// BenchmarkMP3Walk50MB: Probe of a 50 MB MP3 with no frame count (694k
// frames, 13.9 h), walked frame by frame: B/op is the walk's buffers, flat
// whatever the length.
func BenchmarkMP3Walk50MB(b *testing.B) {
	f := frames{50_000_000 / frameLen}
	b.ReportAllocs()
	b.SetBytes(f.size())
	for b.Loop() {
		if _, err := Probe(context.Background(), f, f.size()); err != nil {
			b.Fatal(err)
		}
	}
}
