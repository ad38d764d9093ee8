package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/client"
)

var trueArgs = []string{"/bin/true"}

// clientRun is an attached Run with auto_remove through the Go SDK: what
// `nucleusctl run --rm` does, minus the CLI process. It returns once the
// exit status is in, which is after the container was removed.
func (e *env) clientRun(ctx context.Context, args []string) (time.Duration, error) {
	return e.clientRunSpec(ctx, &nucleusv1.ContainerSpec{Args: args, AutoRemove: true})
}

// clientRunSpec is clientRun of spec.
func (e *env) clientRunSpec(ctx context.Context, spec *nucleusv1.ContainerSpec) (time.Duration, error) {
	start := time.Now()
	ex, id, err := e.c.Run(ctx, spec, client.RunOptions{})
	d := time.Since(start)
	if err != nil {
		return d, fmt.Errorf("client run %s: %w", id, err)
	}
	if ex.GetExitCode() != 0 {
		return d, fmt.Errorf("client run %s: exit %d (%s: %s)", id, ex.GetExitCode(), ex.GetReason(), ex.GetMessage())
	}
	return d, nil
}

// addComparison adds the rows of an alternating comparison whose first
// variant is raw runsc: each variant's times with its ratio to raw against
// the ≤ 1.10 target, then (withCPU) the CPU used outside the sandbox.
func (f *Figure) addComparison(vs []variant, samples, cpu [][]time.Duration, withCPU bool) {
	base := timeRow(vs[0].name, samples[0])
	f.Rows = append(f.Rows, base)
	for i := 1; i < len(vs); i++ {
		r := timeRow(vs[i].name, samples[i]).against(base)
		f.Rows = append(f.Rows, r.target("ratio <= 1.10", r.Ratio <= 1.10))
	}
	if !withCPU {
		return
	}
	cbase := msRow("CPU outside the sandbox: "+vs[0].name, cpu[0])
	f.Rows = append(f.Rows, cbase)
	for i := 1; i < len(vs); i++ {
		f.Rows = append(f.Rows, msRow("CPU outside the sandbox: "+vs[i].name, cpu[i]).against(cbase))
	}
}

// variant is one side of an alternating comparison.
type variant struct {
	name string
	fn   func(context.Context) (time.Duration, error)
}

// alternate runs every variant once per pair, rotating which goes first,
// after warm runs that are not kept; it returns the samples per variant.
func alternate(ctx context.Context, pairs, warm int, vs []variant) ([][]time.Duration, error) {
	out, _, err := alternateCPU(ctx, nil, pairs, warm, 0, vs)
	return out, err
}

// alternateCPU is alternate that also returns, per variant, the CPU time
// the cpuacct group used during each sample (none when g is nil). After
// each sample it waits settle: work a variant defers past its answer
// (nucleusd's next spare supervisor, its host cleanup) then lands in no
// other sample's time, and its CPU is counted in the sample that caused it.
func alternateCPU(ctx context.Context, g *cpuGroup, pairs, warm int, settle time.Duration, vs []variant) ([][]time.Duration, [][]time.Duration, error) {
	out := make([][]time.Duration, len(vs))
	cpu := make([][]time.Duration, len(vs))
	for i := -warm; i < pairs; i++ {
		for k := range vs {
			idx := (k + max(i, 0)) % len(vs)
			v := vs[idx]
			if err := ctx.Err(); err != nil {
				return out, cpu, err
			}
			u := g.usage()
			d, err := v.fn(ctx)
			if err != nil {
				return out, cpu, fmt.Errorf("%s: %w", v.name, err)
			}
			time.Sleep(settle)
			if i >= 0 {
				out[idx] = append(out[idx], d)
				if g != nil {
					cpu[idx] = append(cpu[idx], g.usage()-u)
				}
			}
		}
	}
	return out, cpu, nil
}

// coldFigure is figure 1: run-to-exit of /bin/true.
func coldFigure(ctx context.Context, e *env) ([]*Figure, error) {
	vs := []variant{
		{"raw runsc run", func(ctx context.Context) (time.Duration, error) { return e.raw.runArgs(ctx, trueArgs) }},
		{"Go client Run (auto_remove)", func(ctx context.Context) (time.Duration, error) { return e.clientRun(ctx, trueArgs) }},
	}
	if e.cfg.cliOK {
		vs = append(vs, variant{"nucleusctl run --rm", func(ctx context.Context) (time.Duration, error) {
			return e.cli(ctx, "run", "--rm", "/bin/true")
		}})
	}
	samples, cpu, err := alternateCPU(ctx, e.cpu, e.cfg.pairs, 2, e.cfg.settle, vs)
	f := &Figure{Key: "1 cold run", Title: "Cold run-to-exit of /bin/true (create, start, wait, remove)"}
	f.addComparison(vs, samples, cpu, e.cpu != nil)
	if e.cpu != nil {
		f.Notes = append(f.Notes, "CPU outside the sandbox: cpuacct usage of a cgroup holding the benchmark, nucleusd, the supervisors and the runsc command-line processes (runsc moves sandbox and gofer to the spec's cgroup), per run; it misses what runsc and the supervisor do while gVisor has them in the container's cgroup (more of the supervisor's): figure 1c counts per process")
	}
	f.Notes = append(f.Notes, "raw: `runsc run` of a prepared bundle written by bundle.Create with nucleusd's request and policy; the bundle write is not timed")
	return []*Figure{f}, err
}

// breakdownFigure times each lifecycle step separately, through the Go
// client and through raw runsc, alternately: where a cold run's time goes.
func breakdownFigure(ctx context.Context, e *env) ([]*Figure, error) {
	steps := []string{"create", "start", "wait", "delete"}
	ours := make([][]time.Duration, len(steps))
	theirs := make([][]time.Duration, len(steps))
	pairs := max(e.cfg.pairs/2, 3)
	for i := -1; i < pairs; i++ {
		o, err := e.clientSteps(ctx)
		if err != nil {
			return nil, err
		}
		t, err := e.rawSteps(ctx)
		if err != nil {
			return nil, err
		}
		if i < 0 {
			continue
		}
		for k := range steps {
			ours[k] = append(ours[k], o[k])
			theirs[k] = append(theirs[k], t[k])
		}
	}
	f := &Figure{Key: "1b cold steps", Title: "Cold /bin/true step by step: Go client Create/Start/Wait/Delete vs runsc create/start/wait/delete"}
	for k, s := range steps {
		base := timeRow("raw runsc "+s, theirs[k])
		f.Rows = append(f.Rows, base, timeRow("client "+s, ours[k]).against(base))
	}
	return []*Figure{f}, nil
}

func (e *env) clientSteps(ctx context.Context) ([]time.Duration, error) {
	var out []time.Duration
	t := time.Now()
	c, err := e.c.Create(ctx, &nucleusv1.ContainerSpec{Args: trueArgs})
	if err != nil {
		return nil, fmt.Errorf("create: %w", err)
	}
	out = append(out, time.Since(t))
	id := c.GetId()
	t = time.Now()
	if _, err := e.c.Start(ctx, id); err != nil {
		return nil, fmt.Errorf("start: %w", err)
	}
	out = append(out, time.Since(t))
	t = time.Now()
	if _, err := e.c.Wait(ctx, id); err != nil {
		return nil, fmt.Errorf("wait: %w", err)
	}
	out = append(out, time.Since(t))
	t = time.Now()
	if _, err := e.c.Delete(ctx, id, false); err != nil {
		return nil, fmt.Errorf("delete: %w", err)
	}
	return append(out, time.Since(t)), nil
}

func (e *env) rawSteps(ctx context.Context) ([]time.Duration, error) {
	id, dir, err := e.raw.prepare(trueArgs)
	if err != nil {
		return nil, err
	}
	defer e.raw.discard(id)
	var out []time.Duration
	pidFile := filepath.Join(dir, "sandbox.pid")
	d, err := timed(e.raw.command(ctx, e.raw.root, "create", "--bundle="+dir, "--pid-file="+pidFile, id))
	if err != nil {
		return nil, err
	}
	out = append(out, d)
	// `runsc wait` cannot be used: a sandbox whose only container exited
	// answers no wait. The sandbox's exit is watched through a pidfd, the
	// way a supervisor learns of it.
	data, err := os.ReadFile(pidFile)
	if err != nil {
		return nil, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		return nil, err
	}
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return nil, fmt.Errorf("pidfd_open %d: %w", pid, err)
	}
	defer unix.Close(pidfd)
	d, err = timed(e.raw.command(ctx, e.raw.root, "start", id))
	if err != nil {
		return nil, err
	}
	out = append(out, d)
	t := time.Now()
	for {
		_, err := unix.Poll([]unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}, 60_000)
		if err != unix.EINTR {
			break
		}
	}
	out = append(out, time.Since(t))
	d, err = timed(e.raw.command(ctx, e.raw.root, "delete", "--force", id))
	if err != nil {
		return nil, err
	}
	return append(out, d), nil
}
