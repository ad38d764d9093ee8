package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"nucleus.dev/nucleus/bundle"
	daemonconfig "nucleus.dev/nucleus/daemon/config"
	"nucleus.dev/nucleus/sandbox/runsc"
)

// raw runs runsc directly on bundles equivalent to nucleusd's: the same
// bundle.Create request and policy as the daemon's defaults, and the same
// global flags as sandbox/runsc's globalFlags (sorted, --network=none,
// --platform=systrap, one --root for every sandbox).
type raw struct {
	bin   string
	dir   string // bundles live in dir/bundles/<id>
	root  string // runsc --root
	extra []string
	seq   atomic.Int64
}

// newRaw keeps bundles under dir and runsc's state in root.
func newRaw(bin, dir, root string, extra []string) *raw {
	return &raw{bin: bin, dir: dir, root: root, extra: extra}
}

func (r *raw) init() error {
	if _, err := r.globalFlags(r.root); err != nil {
		return fmt.Errorf("runsc flags: %w", err)
	}
	for _, d := range []string{r.root, filepath.Join(r.dir, "bundles")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	return nil
}

// globalFlags are the global flags the daemon's runsc driver passes, for
// root: the same function builds both.
func (r *raw) globalFlags(root string) ([]string, error) {
	rs := runsc.Runsc{Binary: r.bin, Root: root, ExtraFlags: r.extra}
	return rs.GlobalFlags()
}

// command is runsc with the global flags for root, then args. It runs in
// its own process group, as the daemon's runsc does.
func (r *raw) command(ctx context.Context, root string, args ...string) *exec.Cmd {
	flags, err := r.globalFlags(root)
	cmd := exec.CommandContext(ctx, r.bin, append(flags, args...)...)
	if err != nil {
		cmd.Err = err // Start and Run report it; nothing runs with other flags
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

// newID returns a fresh raw container id.
func (r *raw) newID() string {
	return fmt.Sprintf("%s%d", r.idPrefix(), r.seq.Add(1))
}

// idPrefix starts every raw container id of this run.
func (r *raw) idPrefix() string {
	return fmt.Sprintf("bench-raw-%d-", os.Getpid())
}

// daemonRequest is the bundle request nucleusd makes for args with its
// default config's [defaults] (daemon/core/convert.go).
func daemonRequest(args []string) *bundle.Request {
	d := daemonconfig.Default().Defaults
	return &bundle.Request{
		Args:      args,
		Resources: bundle.Resources{MemoryBytes: int64(d.Memory), CPUs: d.CPUs, Pids: d.Pids},
	}
}

// daemonPolicy is the policy nucleusd applies for a root caller with the
// default config (daemon/core/create.go bundlePolicy).
func (r *raw) daemonPolicy() *bundle.Policy {
	c := daemonconfig.Default()
	return &bundle.Policy{
		DeniedHostPaths: []string{r.dir},
		AllowHostPaths:  true,
		HostPidsLimit:   c.Security.HostPidsLimit,
		TmpSizeBytes:    int64(c.Defaults.TmpSize),
		ShmSizeBytes:    int64(c.Defaults.ShmSize),
	}
}

// prepare writes a bundle for args and returns its id and directory.
func (r *raw) prepare(args []string) (string, string, error) {
	return r.prepareRequest(daemonRequest(args))
}

// prepareRequest writes a bundle for req and returns its id and directory.
func (r *raw) prepareRequest(req *bundle.Request) (string, string, error) {
	id := r.newID()
	dir := filepath.Join(r.dir, "bundles", id)
	if _, err := bundle.Create(id, req, r.daemonPolicy(), bundle.Paths{BundleDir: dir}); err != nil {
		return "", "", fmt.Errorf("raw bundle: %w", err)
	}
	return id, dir, nil
}

// discard removes a raw container and its bundle, whatever state it is in.
func (r *raw) discard(id string) {
	_ = r.command(context.Background(), r.root, "delete", "--force", id).Run()
	_ = bundle.Remove(bundle.Paths{BundleDir: filepath.Join(r.dir, "bundles", id)})
}

// removeBundle removes a raw container's bundle only.
func (r *raw) removeBundle(id string) {
	_ = bundle.Remove(bundle.Paths{BundleDir: filepath.Join(r.dir, "bundles", id)})
}

// timed runs cmd and returns its wall time. Its output goes to an unlinked
// temporary file, never a pipe: runsc create hands its stdio to the
// sandbox, and a pipe would keep Wait waiting for the sandbox to exit.
func timed(cmd *exec.Cmd) (time.Duration, error) {
	out, err := os.CreateTemp("", "nucleus-bench-out-")
	if err != nil {
		return 0, err
	}
	_ = os.Remove(out.Name())
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	start := time.Now()
	err = cmd.Run()
	d := time.Since(start)
	if err != nil {
		msg, _ := os.ReadFile("/proc/self/fd/" + fmt.Sprint(out.Fd()))
		return d, fmt.Errorf("%s: %v: %s", strings.Join(cmd.Args[len(r0(cmd.Args)):], " "), err, tail(string(msg)))
	}
	return d, nil
}

// r0 is the global-flag prefix of a runsc argv (binary and --flags).
func r0(args []string) []string {
	i := 1
	for i < len(args) && strings.HasPrefix(args[i], "--") {
		i++
	}
	return args[:i]
}

func tail(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 400 {
		s = "..." + s[len(s)-400:]
	}
	return s
}

// run is `runsc run` of a prepared bundle: create, start, wait, delete.
func (r *raw) run(ctx context.Context, id, dir string) (time.Duration, error) {
	return timed(r.command(ctx, r.root, "run", "--bundle="+dir, id))
}

// runArgs prepares a bundle, times `runsc run` and removes it again.
func (r *raw) runArgs(ctx context.Context, args []string) (time.Duration, error) {
	return r.runRequest(ctx, daemonRequest(args))
}

// runRequest is runArgs of req.
func (r *raw) runRequest(ctx context.Context, req *bundle.Request) (time.Duration, error) {
	id, dir, err := r.prepareRequest(req)
	if err != nil {
		return 0, err
	}
	d, err := r.run(ctx, id, dir)
	if err != nil {
		r.discard(id)
		return d, err
	}
	// runsc run deleted the container itself: only the bundle is left.
	return d, bundle.Remove(bundle.Paths{BundleDir: dir})
}

// startDetached creates and starts a raw container (create + start, timed
// together) and leaves it running.
func (r *raw) startDetached(ctx context.Context, args []string) (string, time.Duration, error) {
	id, dir, err := r.prepare(args)
	if err != nil {
		return "", 0, err
	}
	start := time.Now()
	if _, err := timed(r.command(ctx, r.root, "create", "--bundle="+dir, id)); err != nil {
		r.discard(id)
		return "", 0, err
	}
	if _, err := timed(r.command(ctx, r.root, "start", id)); err != nil {
		r.discard(id)
		return "", 0, err
	}
	return id, time.Since(start), nil
}

// exec times `runsc exec id args...`.
func (r *raw) exec(ctx context.Context, id string, args ...string) (time.Duration, error) {
	return timed(r.command(ctx, r.root, append([]string{"exec", id}, args...)...))
}
