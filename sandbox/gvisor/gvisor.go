// Package gvisor runs, inside nucleusd, the runsc operations that would
// otherwise cost a runsc process per call — exec into a running container,
// delete — through gVisor's own runsc/container package, from the gVisor version
// pinned in go.mod: the very code bin/runsc is built from. A runsc process
// spends tens of milliseconds starting (Go runtime and gVisor's package
// initialisation) before it sends one request to the sandbox's control
// server; here that request is all an exec costs.
//
// It is used only when the runsc binary nucleusd drives was built from the
// same gVisor module version (read from the binary's Go build information):
// the control protocol and the state files are runsc internals, stable
// only within one version.
package gvisor

import (
	"debug/buildinfo"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"

	"gvisor.dev/gvisor/runsc/config"
	"gvisor.dev/gvisor/runsc/container"
	"gvisor.dev/gvisor/runsc/gvisorbinaries"
	"gvisor.dev/gvisor/runsc/specutils"

	"nucleus.dev/nucleus/internal/errdefs"
)

// module is gVisor's module path.
const module = "gvisor.dev/gvisor"

// ErrOtherVersion means the runsc binary was not built from the gVisor
// version linked into this program; callers then run runsc instead.
var ErrOtherVersion = errors.New("runsc was built from another gVisor version")

// Client drives the sandboxes under one runsc --root.
type Client struct {
	conf   *config.Config
	flags  []string // runsc's global flags, parsed again per Create
	binary string

	stdioMu sync.Mutex // Create swaps the process's os.Stdin/out/err

	// podOf maps a pod member's id to its pod's sandbox id, found once
	// by listing runsc's root (a container never changes sandbox).
	podOf sync.Map
}

// Open returns a Client for the runsc at binary, run with globalFlags (its
// "--name=value" global flags, --root included), or ErrOtherVersion.
func Open(binary string, globalFlags []string) (*Client, error) {
	linked, err := linkedVersion()
	if err != nil {
		return nil, err
	}
	bi, err := buildinfo.ReadFile(binary)
	if err != nil {
		return nil, fmt.Errorf("reading the build information of %s: %w", binary, err)
	}
	if bi.Main.Path != module || bi.Main.Version != linked {
		return nil, fmt.Errorf("%w: %s is %s %s, nucleusd links %s", ErrOtherVersion, binary, bi.Main.Path, bi.Main.Version, linked)
	}
	conf, err := parseConfig(globalFlags)
	if err != nil {
		return nil, err
	}
	// The sandbox and gofer processes gVisor starts run this binary (the
	// default, /proc/self/exe, is the calling program), under the sidecar
	// policies runsc's main would set from its flags.
	specutils.ExePath = binary
	gvisorbinaries.ReleaseEnforcementPolicy = conf.SidecarReleaseEnforcementPolicy
	gvisorbinaries.UsagePolicy = conf.SidecarUsagePolicy
	return &Client{conf: conf, flags: globalFlags, binary: binary}, nil
}

// parseConfig builds runsc's configuration from its global flags, as its
// main does.
func parseConfig(globalFlags []string) (*config.Config, error) {
	fs := flag.NewFlagSet("runsc", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	config.RegisterFlags(fs)
	if err := fs.Parse(globalFlags); err != nil {
		return nil, fmt.Errorf("runsc flags %v: %w", globalFlags, err)
	}
	conf, err := config.NewFromFlags(fs)
	if err != nil {
		return nil, fmt.Errorf("runsc flags %v: %w", globalFlags, err)
	}
	return conf, nil
}

// linkedVersion is the gVisor module version this program was built with:
// from its build information, or, in a test binary (which carries no
// dependency list), from the file name of a gVisor function, which holds
// "gvisor.dev/gvisor@<version>/" with or without -trimpath.
func linkedVersion() (string, error) {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == module {
				if d.Replace != nil {
					return d.Replace.Version, nil
				}
				return d.Version, nil
			}
		}
	}
	pc := reflect.ValueOf(container.Load).Pointer()
	file, _ := runtime.FuncForPC(pc).FileLine(pc)
	_, rest, ok := strings.Cut(file, module+"@")
	version, _, slash := strings.Cut(rest, "/")
	if !ok || !slash || version == "" {
		return "", fmt.Errorf("%w: cannot tell which %s version is linked in (%s)", ErrOtherVersion, module, file)
	}
	return version, nil
}

// Delete removes container id's runsc state like `runsc delete --force`:
// sandbox and gofer are killed if still there, then runsc's state files
// and the cgroups it made go. An id runsc has no state for is not an error.
// For a container in another's sandbox only its own processes and state
// go; once that sandbox has ended gVisor still removes the state but
// reports the sandbox unreachable, which is no failure here.
func (c *Client) Delete(id string) error {
	cont, err := c.load(id)
	if errors.Is(err, errdefs.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := cont.Destroy(); err != nil {
		if _, serr := os.Stat(c.statePath(cont.Sandbox.ID, id)); !errors.Is(serr, os.ErrNotExist) {
			return fmt.Errorf("destroying container %s: %w", id, err)
		}
	}
	c.podOf.Delete(id)
	return nil
}

// statePath is runsc's state file of container id in sandbox sandboxID.
func (c *Client) statePath(sandboxID, id string) string {
	return filepath.Join(c.conf.RootDir, id+"_sandbox:"+sandboxID+".state")
}

// sandboxOf is the sandbox holding container id: its own (one container
// per sandbox, same id) or, for a pod's member, the pod's, read from its
// state file's name (<container id>_sandbox:<sandbox id>.state) once and
// remembered. NotFound when runsc has no state for id. The state file is
// looked for first: runsc's own loader logs a warning to stderr for an id
// without state.
func (c *Client) sandboxOf(id string) (string, error) {
	notFound := errdefs.NotFound("container %s: runsc has no state for it", id)
	sandboxID := id
	if pod, ok := c.podOf.Load(id); ok {
		sandboxID = pod.(string)
	}
	if _, err := os.Stat(c.statePath(sandboxID, id)); err == nil {
		return sandboxID, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("container %s: %w", id, err)
	}
	if id == "" || strings.ContainsAny(id, "*?[\\/") {
		return "", notFound
	}
	matches, err := filepath.Glob(filepath.Join(c.conf.RootDir, id+"_sandbox:*.state"))
	if err != nil || len(matches) != 1 {
		return "", notFound
	}
	_, rest, _ := strings.Cut(filepath.Base(matches[0]), "_sandbox:")
	sandboxID = strings.TrimSuffix(rest, ".state")
	c.podOf.Store(id, sandboxID)
	return sandboxID, nil
}

// load loads container id from runsc's state; NotFound when runsc has
// none.
func (c *Client) load(id string) (*container.Container, error) {
	sandboxID, err := c.sandboxOf(id)
	if err != nil {
		return nil, err
	}
	cont, err := container.Load(c.conf.RootDir, container.FullID{SandboxID: sandboxID, ContainerID: id}, container.LoadOpts{Exact: true})
	if errors.Is(err, os.ErrNotExist) {
		return nil, errdefs.NotFound("container %s: runsc has no state for it", id)
	}
	if err != nil {
		return nil, fmt.Errorf("loading container %s: %w", id, err)
	}
	return cont, nil
}
