package indexer

import (
	"testing"

	"github.com/goccy/go-json"

	"github.com/bluesky-social/jetstream/pkg/models"
)

// BenchmarkParseEvent measures validating one typical create event, against
// decoding it alone (the baseline every consumer pays).
func BenchmarkParseEvent(b *testing.B) {
	frame := []byte(commitFrame("did:plc:alice5rxbvqptxhmrrkjtu6m", "create", "app.relay.track", "3mmoojp7etg2a", "3mmoojp7vgo2a",
		"bafyreib2rxk3rybk3aobmv5cjuql3bm2twh4jo5uxcpjwbdlbbn5gyzmxq", goodRecord))
	b.Run("decode", func(b *testing.B) {
		for b.Loop() {
			var evt models.Event
			if err := json.Unmarshal(frame, &evt); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode+parse", func(b *testing.B) {
		for b.Loop() {
			var evt models.Event
			if err := json.Unmarshal(frame, &evt); err != nil {
				b.Fatal(err)
			}
			if _, err := ParseEvent(&evt); err != nil {
				b.Fatal(err)
			}
		}
	})
}
