package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/relaymusic/relay/sqlite"
	"github.com/relaymusic/relay/storetest"
)

// TestConformance runs the SQLite store through the store contract, each
// case on a fresh database file.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Backend {
		s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "relay.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
