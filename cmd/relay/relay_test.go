package main

import (
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/relaymusic/relay/internal/relaytest"
)

// relayBin is the relay binary built once for the tests that run it as a
// process (so SIGKILL is a real crash).
var relayBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "relay-bin-")
	if err != nil {
		panic(err)
	}
	relayBin, err = relaytest.Build(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// startRelay runs relay serve with args on a free loopback port.
func startRelay(t testing.TB, args ...string) *relaytest.Proc {
	t.Helper()
	return relaytest.Start(t, relayBin, args...)
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
