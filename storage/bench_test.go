package storage

import (
	"context"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"syscall"
	"testing"
)

// genReader streams n pseudo-random bytes from seed, never holding them.
type genReader struct {
	rng  *rand.ChaCha8
	left int64
}

func newGenReader(seed byte, n int64) *genReader {
	return &genReader{rng: rand.NewChaCha8([32]byte{seed}), left: n}
}

func (g *genReader) Read(p []byte) (int, error) {
	if g.left == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > g.left {
		p = p[:g.left]
	}
	g.rng.Read(p)
	g.left -= int64(len(p))
	return len(p), nil
}

// peakRSS is the process's peak resident set so far, in MiB.
func peakRSS(tb testing.TB) float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return float64(ru.Maxrss) / 1024 // KiB on Linux
}

// BenchmarkPut50MB streams a 50 MiB upload, a plain io.Reader as a
// multipart part is, into each store and reports the process's peak RSS:
// streaming keeps it flat (run one backend per process for a clean peak:
// -bench 'BenchmarkPut50MB/r2' -benchtime 1x).
func BenchmarkPut50MB(b *testing.B) {
	const size = 50 << 20
	for _, backend := range []string{"local", "r2"} {
		b.Run(backend, func(b *testing.B) {
			var store Store
			switch backend {
			case "local":
				l, err := NewLocal(b.TempDir(), "http://127.0.0.1:1")
				if err != nil {
					b.Fatal(err)
				}
				defer l.Close()
				store = l
			case "r2":
				store = testR2(b, startS3(b, ""), nil)
			}
			ctx := context.Background()
			b.SetBytes(size)
			before := peakRSS(b)
			b.ResetTimer()
			for i := range b.N {
				seed := byte(i)
				h := sha256.New()
				b.StopTimer()
				io.Copy(h, newGenReader(seed, size))
				var sum [32]byte
				copy(sum[:], h.Sum(nil))
				key, err := MakeKey("audio", sum, "wav")
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if err := store.Put(ctx, key.String(), io.MultiReader(newGenReader(seed, size)), size, ""); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if err := store.Delete(ctx, key.String()); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.ReportMetric(before, "rss-before-MiB")
			b.ReportMetric(peakRSS(b), "peak-rss-MiB")
		})
	}
}
