package indexer

import (
	"syscall"
	"testing"

	"github.com/goccy/go-json"

	"github.com/bluesky-social/jetstream/pkg/models"
)

// firstVersionRecord is a record as relay's first version wrote it, with a
// featured artist and a cover: more fields and formats to check than
// goodRecord.
const firstVersionRecord = `{"$type":"app.relay.track","title":"Hoppípolla","artist":"Sigur Rós","audioUrl":"https://audio.relay.example/3f9a.mp3","fileType":"mp3","createdAt":"2025-10-02T18:04:11.372819Z","features":[{"did":"did:plc:mark4hmc3inwkbiwbx6ndpbq","handle":"mark.example.com","displayName":"mark.example.com"}],"imageUrl":"https://img.relay.example/c.jpg"}`

// BenchmarkParseEvent measures validating one typical create event, against
// decoding it alone (the baseline every consumer pays), and a first-version
// one. cpu-ns/op is the process's CPU time per event (getrusage), steadier
// than wall time on a shared machine.
func BenchmarkParseEvent(b *testing.B) {
	frame := func(record string) []byte {
		return []byte(commitFrame("did:plc:alice5rxbvqptxhmrrkjtu6m", "create", "app.relay.track", "3mmoojp7etg2a", "3mmoojp7vgo2a",
			"bafyreib2rxk3rybk3aobmv5cjuql3bm2twh4jo5uxcpjwbdlbbn5gyzmxq", record))
	}
	for _, c := range []struct {
		name  string
		frame []byte
		parse bool
	}{
		{"decode", frame(goodRecord), false},
		{"decode+parse", frame(goodRecord), true},
		{"decode+parse-first-version", frame(firstVersionRecord), true},
	} {
		b.Run(c.name, func(b *testing.B) {
			start := cpuTime(b)
			for b.Loop() {
				var evt models.Event
				if err := json.Unmarshal(c.frame, &evt); err != nil {
					b.Fatal(err)
				}
				if !c.parse {
					continue
				}
				if _, err := ParseEvent(&evt); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N), "cpu-ns/op")
		})
	}
}

// cpuTime is the CPU time the process has used, in ns.
func cpuTime(b *testing.B) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
