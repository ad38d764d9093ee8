package supervisor

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"

	"nucleus.dev/nucleus/internal/errdefs"
)

// SpawnOptions say how to start the supervisor process.
type SpawnOptions struct {
	// Command is the executable and its leading arguments; Spawn appends
	// "--spec <dir>/spec.json --ready-fd 3". In nucleusd this is
	// {"/proc/self/exe", "supervise"} (or the nucleusd path), whose main
	// hands the rest to Main.
	Command []string
	// Env is the supervisor's whole environment; PATH is added when
	// missing. The daemon's own environment is not inherited.
	Env []string
}

const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Spawn starts a supervisor for spec and returns once it has created the
// container (state "created", or "running" with spec.Start) or failed. The
// supervisor runs in its own session with /dev/null stdio and no parent-death
// signal, so it outlives the daemon; the daemon reaps it only if it is still
// alive when the supervisor exits.
//
// If ctx ends first, the supervisor is killed; the container may be half
// created and must be deleted.
func Spawn(ctx context.Context, spec Spec, opts SpawnOptions) (Status, error) {
	if err := spec.Validate(); err != nil {
		return Status{}, err
	}
	if len(opts.Command) == 0 {
		return Status{}, errdefs.InvalidArgument("supervisor command not set")
	}
	if err := os.MkdirAll(spec.Dir, 0o700); err != nil {
		return Status{}, err
	}
	if pid, ok := Running(spec.Dir); ok {
		return Status{}, errdefs.AlreadyExists("container %s already has a supervisor (pid %d)", spec.ID, pid)
	}
	data, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return Status{}, err
	}
	specPath := spec.path(SpecFile)
	if err := writeFileAtomic(specPath, data, 0o600); err != nil {
		return Status{}, err
	}
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return Status{}, err
	}
	defer readyR.Close()
	devNull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		readyW.Close()
		return Status{}, err
	}
	defer devNull.Close()

	args := append(append([]string{}, opts.Command[1:]...), specFlag, specPath, readyFDFlag, "3")
	cmd := exec.Command(opts.Command[0], args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devNull, devNull, devNull
	cmd.ExtraFiles = []*os.File{readyW}
	cmd.Env = withPath(opts.Env)
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	readyW.Close()
	if err != nil {
		return Status{}, errdefs.Unavailable("starting supervisor %s: %v", opts.Command[0], err)
	}
	go func() { _ = cmd.Wait() }()

	type result struct {
		resp Response
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		line, err := bufio.NewReader(readyR).ReadBytes('\n')
		if err != nil {
			ch <- result{err: err}
			return
		}
		var resp Response
		ch <- result{resp: resp, err: json.Unmarshal(line, &resp)}
	}()
	select {
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		return Status{}, errdefs.DeadlineExceeded("supervisor of %s did not report in time: %v", spec.ID, ctx.Err())
	case r := <-ch:
		switch {
		case r.err != nil:
			return Status{}, fmt.Errorf("supervisor of %s exited without reporting (%v); its log: %s: %w",
				spec.ID, r.err, logTail(spec.path(LogFile)), errdefs.ErrInternal)
		case !r.resp.OK:
			return Status{}, errorFromResponse(&r.resp)
		case r.resp.Status == nil:
			return Status{}, fmt.Errorf("supervisor of %s reported no status: %w", spec.ID, errdefs.ErrInternal)
		}
		return *r.resp.Status, nil
	}
}

func withPath(env []string) []string {
	for _, e := range env {
		if strings.HasPrefix(e, "PATH=") {
			return env
		}
	}
	return append([]string{defaultPath}, env...)
}

// logTail returns the end of a supervisor log, for error messages.
func logTail(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "(none)"
	}
	if len(data) > 2048 {
		data = data[len(data)-2048:]
	}
	return strings.TrimSpace(string(data))
}
