package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// errAddrInUse: relay serve could not listen on its address.
var errAddrInUse = errors.New("address already in use")

// relayProc is a running relay serve, in its own process group so that
// stop reaches anything it started, and killed with the demo if the demo
// dies without stopping it.
type relayProc struct {
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	waitErr error
}

// startRelay runs bin with args, its output appended to logPath, and waits
// until its /xrpc/_health answers (30 s at most).
func startRelay(ctx context.Context, bin, logPath string, args []string) (*relayProc, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("relay log: %w", err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	p := &relayProc{cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	addr := listenArg(args)
	health := "http://" + addr + "/xrpc/_health"
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, health, nil)
		if err != nil {
			_ = p.stop(time.Second)
			return nil, fmt.Errorf("health request: %w", err)
		}
		if resp, err := httpClient.Do(req); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		select {
		case <-p.done:
			tail := tailFile(logPath, 20)
			if strings.Contains(tail, "address already in use") {
				return nil, fmt.Errorf("relay serve on %s: %w", addr, errAddrInUse)
			}
			return nil, fmt.Errorf("relay serve exited at start (%v); %s:\n%s", p.waitErr, logPath, tail)
		case <-ctx.Done():
			_ = p.stop(5 * time.Second)
			return nil, fmt.Errorf("waiting for relay serve: %w", ctx.Err())
		case <-deadline.C:
			_ = p.stop(5 * time.Second)
			return nil, fmt.Errorf("relay serve did not answer %s within 30s; %s:\n%s", health, logPath, tailFile(logPath, 20))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// stop sends SIGTERM (relay serve shuts down its HTTP server and closes
// SQLite and Bleve cleanly) and SIGKILLs the group if it is still running
// after grace.
func (p *relayProc) stop(grace time.Duration) error {
	pgid := p.cmd.Process.Pid
	select {
	case <-p.done:
	default:
		if err := syscall.Kill(-pgid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("relay serve: SIGTERM: %w", err)
		}
		select {
		case <-p.done:
		case <-time.After(grace):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-p.done
			return fmt.Errorf("relay serve did not stop within %s of SIGTERM; killed", grace)
		}
	}
	// Whatever the leader left in its group goes with it.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	var exit *exec.ExitError
	if p.waitErr != nil && !errors.As(p.waitErr, &exit) {
		return fmt.Errorf("relay serve: %w", p.waitErr)
	}
	if exit != nil && !exit.Exited() {
		// SIGTERM is handled by relay; dying of a signal means it was not.
		return fmt.Errorf("relay serve: %v", exit)
	}
	if exit != nil {
		return fmt.Errorf("relay serve exited %d; %s:\n%s", exit.ExitCode(), p.logPath, tailFile(p.logPath, 20))
	}
	return nil
}

// exited reports whether relay serve has stopped (by itself or not).
func (p *relayProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func listenArg(args []string) string {
	for i, a := range args {
		if a == "--listen" && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

// tailFile is the last n lines of path, for an error message.
func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
