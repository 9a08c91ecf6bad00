package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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
	root, err := repoRoot()
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 1
	}
	dir, err := os.MkdirTemp("", "relay-e2e-bin-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)

	relayBin = filepath.Join(dir, "relay")
	tb := time.Now()
	build := exec.Command(goTool(), "build", "-o", relayBin, "./cmd/relay")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: building relay: %v\n%s", err, out)
		return 1
	}
	fmt.Fprintf(os.Stderr, "e2e: built relay in %s\n", time.Since(tb).Round(time.Millisecond))

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	tn, err = testnet.Start(ctx, testnet.Options{RepoRoot: root})
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

// repoRoot walks up from the working directory (the package dir under go
// test) to the directory holding go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// goTool is the go command running these tests when it can be found, so the
// binary is built by the same toolchain; else "go" from PATH.
func goTool() string {
	if g := os.Getenv("GO"); g != "" {
		return g
	}
	if root := os.Getenv("GOROOT"); root != "" {
		if p := filepath.Join(root, "bin", "go"); fileExists(p) {
			return p
		}
	}
	return "go"
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
