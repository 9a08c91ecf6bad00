package e2e

import (
	"github.com/relaymusic/relay/internal/relaytest"

	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/relaymusic/relay/internal/testnet"
)

var (
	// relayBin is the relay binary, built once by TestMain.
	relayBin string
	// tn is the network shared by every test; each test makes its own
	// accounts on it.
	tn *testnet.Network
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	t0 := time.Now()
	dir, err := os.MkdirTemp("", "relay-e2e-bin-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)

	tb := time.Now()
	if relayBin, err = relaytest.Build(dir); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "e2e: built relay in %s\n", time.Since(tb).Round(time.Millisecond))

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	tn, err = testnet.Start(ctx, testnet.Options{})
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: start test network: %v\n", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "e2e: network up in %s (plc %s, pds %s, jetstream %s)\n",
		tn.StartupTime.Round(time.Millisecond), tn.PLCURL, tn.PDSURL, tn.JetstreamURL)
	for _, s := range tn.Steps {
		fmt.Fprintf(os.Stderr, "e2e:   %-32s %s\n", s.Name, s.Took.Round(time.Millisecond))
	}

	code := m.Run()

	if code != 0 {
		fmt.Fprintf(os.Stderr, "e2e: test network logs:\n%s\n", tn.LogTails(40))
	}
	if err := tn.Close(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	fmt.Fprintf(os.Stderr, "e2e: total %s\n", time.Since(t0).Round(time.Millisecond))
	return code
}
