package runsc

import (
	"context"
	"os"
	"os/exec"
)

// CreateOptions are the inputs of Create.
type CreateOptions struct {
	// Bundle is the OCI bundle directory (holding config.json).
	Bundle string
	// PidFile receives the sandbox process's host pid.
	PidFile string
	// Stdin, Stdout and Stderr become the container's stdio: runsc create
	// hands its own stdio to the sandbox. Nil means /dev/null.
	Stdin, Stdout, Stderr *os.File
	// Start also starts the workload, in the same runsc process (`runsc
	// run --detach`): one runsc start-up less than Create then Start.
	Start bool
	// ConsoleSocket, for a bundle with process.terminal, is the unix socket
	// runsc sends the terminal's master to (SCM_RIGHTS); the sandbox gets
	// the replica as its stdio and controlling terminal.
	ConsoleSocket string
}

// Create creates the container: sandbox and gofer start, the workload does
// not (see Start) unless o.Start. runsc's error message is read from --log-fd, since its
// stderr is the container's.
func (r *Runsc) Create(ctx context.Context, id string, o CreateOptions) error {
	if o.Bundle == "" {
		return invalid("runsc create %s: bundle not set", id)
	}
	verb, args := "create", []string{"--bundle=" + o.Bundle}
	if o.Start {
		verb, args = "run", append([]string{"--detach"}, args...)
	}
	if o.PidFile != "" {
		args = append(args, "--pid-file="+o.PidFile)
	}
	if o.ConsoleSocket != "" {
		args = append(args, "--console-socket="+o.ConsoleSocket)
	}
	return r.runWithStdio(ctx, invocation{verb: verb, id: id, args: append(args, id)}, o)
}

// StartWithStdio starts created container id like Start, with o's stdio
// (o.Stdin, o.Stdout, o.Stderr only): a container created in another's
// sandbox receives its stdio when it starts (runsc start hands over its
// own), not at create.
func (r *Runsc) StartWithStdio(ctx context.Context, id string, o CreateOptions) error {
	return r.runWithStdio(ctx, invocation{verb: "start", id: id, args: []string{id}}, o)
}

// runWithStdio runs inv with o's stdio (nil: /dev/null); runsc's error
// message is read from --log-fd, since its stderr is the container's.
func (r *Runsc) runWithStdio(ctx context.Context, inv invocation, o CreateOptions) error {
	elog, err := newErrorLog()
	if err != nil {
		return err
	}
	inv.call = map[string]string{"log-fd": "3"}
	inv.setup = func(cmd *exec.Cmd) {
		cmd.ExtraFiles = []*os.File{elog.w}
		// Leave nil (/dev/null) unless given: an *os.File is handed to
		// runsc as is, with no copying goroutine tied to its lifetime.
		if o.Stdin != nil {
			cmd.Stdin = o.Stdin
		}
		if o.Stdout != nil {
			cmd.Stdout = o.Stdout
		}
		if o.Stderr != nil {
			cmd.Stderr = o.Stderr
		}
	}
	cmd, err := r.command(ctx, inv)
	if err != nil {
		elog.message()
		return err
	}
	err = r.startWait(cmd)
	msg := elog.message()
	if err != nil {
		return r.newError(ctx, inv, cmd, err, msg)
	}
	return nil
}
