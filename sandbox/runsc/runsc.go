// Package runsc is a typed driver for the runsc command line: one method per
// subcommand nucleusd uses, argv built deterministically in one place, and
// errors that carry runsc's own message and an errdefs kind.
package runsc

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"time"
)

// Defaults for the global flags nucleusd sets.
const (
	DefaultPlatform = "systrap"
	DefaultNetwork  = "none"
)

// Runsc runs one runsc binary with one set of global flags. It is plain data
// (JSON-encodable, so the daemon hands the same settings to a supervisor);
// its methods are safe for concurrent use.
type Runsc struct {
	// Binary is the runsc executable (see Locate).
	Binary string `json:"binary"`
	// Root is runsc's --root, the directory of its state files.
	Root string `json:"root"`
	// Platform is --platform; empty means DefaultPlatform.
	Platform string `json:"platform,omitempty"`
	// Network is --network; empty means DefaultNetwork.
	Network string `json:"network,omitempty"`
	// Overlay2 is --overlay2 (e.g. "root:self"); empty leaves runsc's default.
	Overlay2 string `json:"overlay2,omitempty"`
	// DebugLogDir, when set, adds --debug and --debug-log=<dir>/ (runsc
	// writes one file per command inside it).
	DebugLogDir string `json:"debug_log_dir,omitempty"`
	// ExtraFlags are more global flags, each "--name" or "--name=value";
	// flags the driver sets itself are refused.
	ExtraFlags []string `json:"extra_flags,omitempty"`

	// Tracker, when set, starts every runsc process and is told when it
	// has been waited for. A subreaper uses it to tell the driver's children
	// from the orphans it reaps itself.
	Tracker Tracker `json:"-"`
}

// Tracker starts runsc processes on the driver's behalf; see Runsc.Tracker.
type Tracker interface {
	// Start must call cmd.Start.
	Start(cmd *exec.Cmd) error
	// Done is called after cmd.Wait returned.
	Done(cmd *exec.Cmd)
}

// reserved are the global flags the driver owns; ExtraFlags may not set them.
var reserved = map[string]bool{
	"root": true, "platform": true, "network": true, "overlay2": true,
	"debug": true, "debug-log": true, "log": true, "log-fd": true, "log-format": true,
	"debug-log-fd": true, "panic-log-fd": true,
}

var flagName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// Validate checks the settings without running anything.
func (r *Runsc) Validate() error {
	_, err := r.globalFlags(nil)
	return err
}

// GlobalFlags returns the global flags every runsc command gets from r:
// what a caller running runsc itself (a benchmark baseline) must pass to
// behave exactly like the driver.
func (r *Runsc) GlobalFlags() ([]string, error) { return r.globalFlags(nil) }

// globalFlags renders the settings, plus per-call flags, as sorted
// "--name=value" arguments: the one place global argv is built.
func (r *Runsc) globalFlags(call map[string]string) ([]string, error) {
	if r.Binary == "" {
		return nil, invalid("runsc binary not set")
	}
	if r.Root == "" {
		return nil, invalid("runsc --root not set")
	}
	flags := map[string]string{}
	for _, f := range r.ExtraFlags {
		name, value, hasValue := strings.Cut(strings.TrimPrefix(f, "--"), "=")
		if !strings.HasPrefix(f, "--") || !flagName.MatchString(name) {
			return nil, invalid("runsc extra flag %q: want --name or --name=value", f)
		}
		if reserved[name] {
			return nil, invalid("runsc extra flag %q: nucleusd sets --%s itself", f, name)
		}
		if !hasValue {
			value = "true"
		}
		flags[name] = value
	}
	flags["root"] = r.Root
	flags["platform"] = or(r.Platform, DefaultPlatform)
	flags["network"] = or(r.Network, DefaultNetwork)
	if r.Overlay2 != "" {
		flags["overlay2"] = r.Overlay2
	}
	if r.DebugLogDir != "" {
		flags["debug"] = "true"
		flags["debug-log"] = strings.TrimSuffix(r.DebugLogDir, "/") + "/"
	}
	for k, v := range call {
		flags[k] = v
	}
	keys := make([]string, 0, len(flags))
	for k := range flags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	argv := make([]string, 0, len(keys))
	for _, k := range keys {
		argv = append(argv, "--"+k+"="+flags[k])
	}
	return argv, nil
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// invocation is one runsc run: verb, its flags and arguments.
type invocation struct {
	verb  string
	id    string   // container id, for errors; "" for list/version
	args  []string // after the verb: verb flags, then id and operands
	call  map[string]string
	setup func(cmd *exec.Cmd) // adds stdio and extra files
}

// command builds the exec.Cmd for inv. runsc runs in its own process group
// so that a signal to the caller's group (Ctrl-C) does not reach it.
func (r *Runsc) command(ctx context.Context, inv invocation) (*exec.Cmd, error) {
	global, err := r.globalFlags(inv.call)
	if err != nil {
		return nil, err
	}
	argv := append(global, inv.verb)
	argv = append(argv, inv.args...)
	cmd := exec.CommandContext(ctx, r.Binary, argv...)
	cmd.Dir = "/" // not the caller's (a supervisor's is its directory)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 2 * time.Second
	if inv.setup != nil {
		inv.setup(cmd)
	}
	return cmd, nil
}

// startWait starts cmd (through the Tracker when set) and waits for it.
func (r *Runsc) startWait(cmd *exec.Cmd) error {
	var err error
	if r.Tracker != nil {
		err = r.Tracker.Start(cmd)
	} else {
		err = cmd.Start()
	}
	if err != nil {
		return err
	}
	err = cmd.Wait()
	if r.Tracker != nil {
		r.Tracker.Done(cmd)
	}
	return err
}

// maxOutput bounds what the driver keeps of runsc's stdout.
const maxOutput = 16 << 20

// run runs inv with stdout and stderr captured and returns stdout.
func (r *Runsc) run(ctx context.Context, inv invocation) ([]byte, error) {
	cmd, err := r.command(ctx, inv)
	if err != nil {
		return nil, err
	}
	stdout := &limitedBuffer{max: maxOutput}
	stderr := &tailBuffer{}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := r.startWait(cmd); err != nil {
		return nil, r.newError(ctx, inv, cmd, err, stderr.String())
	}
	if stdout.overflow {
		return nil, &Error{Verb: inv.verb, ID: inv.id, Stderr: fmt.Sprintf("output larger than %d bytes", maxOutput)}
	}
	return stdout.Bytes(), nil
}

// limitedBuffer keeps at most max bytes and notes an overflow.
type limitedBuffer struct {
	bytes.Buffer
	max      int
	overflow bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.max {
		b.overflow = true
		return len(p), nil
	}
	return b.Buffer.Write(p)
}

// tailBuffer keeps the last tailMax bytes written to it.
type tailBuffer struct{ buf []byte }

const tailMax = 8 << 10

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.buf = append(b.buf, p...)
	if len(b.buf) > tailMax {
		b.buf = append(b.buf[:0], b.buf[len(b.buf)-tailMax:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string { return strings.TrimSpace(string(b.buf)) }
