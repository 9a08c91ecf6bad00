package testnet_test

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/relaymusic/relay/internal/testnet"
)

func TestZZDebug(t *testing.T) {
	n := testnet.StartT(t)
	ctx := context.Background()
	a, err := n.CreateAccount(ctx, "dbg")
	if err != nil {
		t.Fatal(err)
	}
	n.CreateRecord(ctx, a, "app.relay.track", track("x"), nil)
	time.Sleep(2 * time.Second)
	out, _ := exec.Command("sh", "-c", "ss -tanp | grep -v 127.0.0.1 | head -20; ps -eo pid,pgid,rss,args | grep -E 'node|jetstream' | grep -v grep").CombinedOutput()
	t.Logf("%s", out)
	b, _ := os.ReadFile(n.Dir + "/pds.log")
	t.Logf("pds log %d bytes:\n%s", len(b), n.LogTails(15))
}
