package core

import (
	"context"
	"fmt"
	"io"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"nucleus.dev/nucleus/daemon/auth"
	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/sandbox"
)

// helperCaps are the file helper's capabilities inside the sandbox: enough
// to read and write any file of the container and set owners and modes,
// nothing more (no CAP_MKNOD, no CAP_SYS_ADMIN).
var helperCaps = []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID"}

// HelperExec is a function that runs a program of the daemon's inside one
// container (argv[0] is a path in the sandbox) and returns its exit code.
type HelperExec func(ctx context.Context, argv []string, stdin io.Reader, stdout, stderr io.Writer) (int, error)

// FileHelper finds caller's running container idOrName (NotFound for
// another uid's) and returns its id and a HelperExec that runs the file
// helper there as the container's root with helperCaps, in "/", with the
// container's environment. A paused or stopped container is
// FailedPrecondition.
func (d *Daemon) FileHelper(caller auth.Identity, idOrName string) (string, HelperExec, error) {
	c, err := d.lookup(caller, idOrName)
	if err != nil {
		return "", nil, err
	}
	if c.State != stateRunning {
		return "", nil, errdefs.FailedPrecondition("container %s is %s; files need a running container", c.Name, stateName(c.State))
	}
	caps := &specs.LinuxCapabilities{Bounding: helperCaps, Effective: helperCaps, Permitted: helperCaps}
	run := func(ctx context.Context, argv []string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
		spec := sandbox.ExecSpec{Args: argv, User: &specs.User{}, Cwd: "/", Capabilities: caps,
			Env: []string{"GODEBUG=", "GOTRACEBACK=none", "GOGC=100", "GOMAXPROCS=2"}}
		ex, err := d.sb.ExecProcess(ctx, c.ID, spec, sandbox.ExecIO{Stdin: stdin, Stdout: stdout, Stderr: stderr})
		if st := CommandExit(err); st != nil {
			return -1, errdefs.FailedPrecondition("container %s cannot run the file helper (created by an older nucleusd, or the helper is not installed): %s", c.Name, st.GetMessage())
		}
		if err != nil {
			return ex.Code, fmt.Errorf("file helper in %s: %w", c.ID, err)
		}
		return ex.Code, nil
	}
	return c.ID, run, nil
}
