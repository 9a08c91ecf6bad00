package publish

import (
	"bufio"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkPublishToSearchable publishes through the real PDS and times
// each track from the request's start until searchTracks finds it; it
// reports p50 and p99 over the iterations (-benchtime=50x for the closing
// note's figure).
func BenchmarkPublishToSearchable(b *testing.B) {
	e := newEnv(b, envOptions{limits: Limits{Uploads: 1 << 20, Bytes: 1 << 40, Window: time.Hour}})
	u := e.login(b, "publat")
	var lat, after []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		title := "latency probe " + strconv.Itoa(i)
		start := time.Now()
		a := e.publish(b, u.token, "", upload{fields: map[string]string{"title": title, "artist": "bench"}, file: sineWAV(1, float64(100+i))})
		if a.status != 200 {
			b.Fatalf("publish %d: %d %v", i, a.status, a.body)
		}
		// The index's share: from the answer to the first search that finds it.
		after = append(after, e.searchable(b, title, a.str("uri")))
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	pct := func(d []time.Duration, p float64) float64 {
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return float64(d[min(len(d)-1, int(p*float64(len(d))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(lat, .50), "p50-ms")
	b.ReportMetric(pct(lat, .99), "p99-ms")
	b.ReportMetric(pct(after, .50), "index-p50-ms")
	b.ReportMetric(pct(after, .99), "index-p99-ms")
}

// BenchmarkUpload50MB publishes a 50 MB WAV, generated as it is sent (the
// client holds none of it), through the real PDS, and reports the
// throughput and the process's peak RSS (VmHWM, reset before the uploads
// through /proc/self/clear_refs): streaming keeps it flat whatever the
// file's size.
func BenchmarkUpload50MB(b *testing.B) {
	const size = 50 << 20
	e := newEnv(b, envOptions{limits: Limits{Uploads: 1 << 20, Bytes: 1 << 40, Window: time.Hour}})
	u := e.login(b, "pubbig")
	before := vmKB(b, "VmHWM")
	resetPeak := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		pr, pw := io.Pipe()
		mw := multipart.NewWriter(pw)
		go func() {
			_ = mw.WriteField("title", fmt.Sprint("big upload ", i))
			_ = mw.WriteField("artist", "bench")
			w, _ := mw.CreateFormFile("file", "big.wav")
			bw := bufio.NewWriterSize(w, 64<<10)
			bw.Write(wavHeader(size - 44))
			// A different first sample each time: a new object, stored.
			chunk := make([]byte, 64<<10)
			for j := range chunk {
				chunk[j] = byte(j*7 + i)
			}
			for left := int64(size - 44); left > 0; left -= int64(len(chunk)) {
				bw.Write(chunk[:min(int64(len(chunk)), left)])
			}
			bw.Flush()
			pw.CloseWithError(mw.Close())
		}()
		req, _ := http.NewRequest("POST", e.url+"/tracks", pr)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		a := e.do(b, req, u.token)
		if a.status != 200 {
			b.Fatalf("upload: %d %v", a.status, a.body)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(vmKB(b, "VmHWM"))/1024, "peak-rss-MB")
	b.ReportMetric(float64(before)/1024, "rss-before-MB")
	if !resetPeak {
		b.Log("could not reset VmHWM: peak-rss-MB includes the set-up")
	}
}

// vmKB reads a field of /proc/self/status, in kB.
func vmKB(tb testing.TB, field string) int64 {
	tb.Helper()
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		tb.Skip("no /proc/self/status")
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	tb.Fatalf("no %s in /proc/self/status", field)
	return 0
}
