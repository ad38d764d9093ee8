package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Figure 1c: the CPU a cold run of /bin/true costs outside the sandbox,
// per process, from the kernel's scheduler tracepoints (`perf sched`):
// every thread of every process counts, wherever it sits. Figure 1's
// cpuacct rows count only what ran in the benchmark's cgroup, and gVisor
// moves `runsc run` and the supervisor into the container's cgroup while
// they start the gofer, so those rows miss part of both sides' work (more
// of raw runsc's: 20 ms there against about 30 ms here).
//
// The sandbox and gofer are not counted: raw runsc starts them as
// /proc/self/exe ("exe"), a supervisor as the runsc binary ("runsc").
// Raw bundles are written before the recording starts, as figure 1 does
// not time them. The benchmark process counts on every side: it is the Go
// client, and it starts and waits for runsc and nucleusctl.

// schedRounds is how many recordings each variant gets, alternating.
const schedRounds = 3

// schedVariant is one side of figure 1c: which process names are its CPU
// outside the sandbox, and how to prepare n cold runs (what is not to be
// recorded) and return them, with what undoes the preparation.
type schedVariant struct {
	name    string
	procs   []string
	prepare func(ctx context.Context, n int) (runs func() error, undo func(), err error)
}

// schedFigure is figure 1c (see the top of this file); without perf it
// says so and measures nothing.
func schedFigure(ctx context.Context, e *env) ([]*Figure, error) {
	f := &Figure{Key: "1c cpu by process", Title: "CPU per cold run outside the sandbox, per process (perf sched)"}
	perf, err := exec.LookPath("perf")
	if err != nil {
		f.Notes = append(f.Notes, "perf is not installed (Debian: linux-perf): figure skipped")
		return []*Figure{f}, nil
	}
	self, err := os.ReadFile("/proc/self/comm")
	if err != nil {
		return nil, err
	}
	bench := strings.TrimSpace(string(self))
	ours := []string{"nucleusd", "nucleus-supervi", bench}
	vs := []schedVariant{
		{"raw runsc run", []string{"runsc", bench}, e.rawRuns},
		{"Go client Run (auto_remove)", ours, repeated(e.cfg.settle, func(ctx context.Context) error {
			_, err := e.clientRun(ctx, trueArgs)
			return err
		})},
	}
	if e.cfg.cliOK {
		vs = append(vs, schedVariant{"nucleusctl run --rm", append([]string{"nucleusctl"}, ours...), repeated(e.cfg.settle, func(ctx context.Context) error {
			_, err := e.cli(ctx, "run", "--rm", "/bin/true")
			return err
		})})
	}
	n := max(e.cfg.pairs/2, 5)
	perRun := make([]map[string][]time.Duration, len(vs)) // variant → process → per-run CPU of each round
	for i := range vs {
		perRun[i] = map[string][]time.Duration{}
	}
	for round := range schedRounds {
		for k := range vs {
			i := (k + round) % len(vs)
			runs, undo, err := vs[i].prepare(ctx, n)
			if err != nil {
				return []*Figure{f}, fmt.Errorf("%s: %w", vs[i].name, err)
			}
			byComm, err := recordSched(ctx, perf, e.base, runs)
			undo()
			if err != nil {
				return []*Figure{f}, fmt.Errorf("%s: %w", vs[i].name, err)
			}
			for _, p := range vs[i].procs {
				perRun[i][p] = append(perRun[i][p], byComm[p]/time.Duration(n))
			}
		}
	}
	base := msRow("total: "+vs[0].name, roundTotals(perRun[0]))
	for i, v := range vs {
		for _, p := range v.procs {
			f.Rows = append(f.Rows, msRow(v.name+": "+p, perRun[i][p]))
		}
		if i == 0 {
			f.Rows = append(f.Rows, base)
			continue
		}
		r := msRow("total: "+v.name, roundTotals(perRun[i])).against(base)
		f.Rows = append(f.Rows, r.target("ratio <= 1.2", r.Ratio <= 1.2))
	}
	f.Notes = append(f.Notes,
		fmt.Sprintf("%d recordings of %d runs per variant, alternating; each row: the median over recordings of CPU per run", schedRounds, n),
		"whole machine recorded: run it on a quiet one; "+bench+" is the benchmark process (the Go client; it starts runsc and nucleusctl)")
	return []*Figure{f}, nil
}

// roundTotals sums, round by round, the CPU per run of every process.
func roundTotals(byProc map[string][]time.Duration) []time.Duration {
	var totals []time.Duration
	for _, rounds := range byProc {
		for r, d := range rounds {
			if r == len(totals) {
				totals = append(totals, 0)
			}
			totals[r] += d
		}
	}
	return totals
}

// repeated prepares nothing: its runs are n calls of fn, each followed by
// settle.
func repeated(settle time.Duration, fn func(context.Context) error) func(context.Context, int) (func() error, func(), error) {
	return func(ctx context.Context, n int) (func() error, func(), error) {
		return func() error {
			for range n {
				if err := fn(ctx); err != nil {
					return err
				}
				time.Sleep(settle)
			}
			return nil
		}, func() {}, nil
	}
}

// rawRuns writes n raw bundles; its runs are `runsc run` of each.
func (e *env) rawRuns(ctx context.Context, n int) (func() error, func(), error) {
	type prepared struct{ id, dir string }
	var ps []prepared
	undo := func() {
		for _, p := range ps {
			e.raw.removeBundle(p.id)
		}
	}
	for range n {
		id, dir, err := e.raw.prepare(trueArgs)
		if err != nil {
			undo()
			return nil, nil, err
		}
		ps = append(ps, prepared{id, dir})
	}
	return func() error {
		for _, p := range ps {
			if _, err := e.raw.run(ctx, p.id, p.dir); err != nil {
				e.raw.discard(p.id)
				return err
			}
			time.Sleep(e.cfg.settle)
		}
		return nil
	}, undo, nil
}

// recordSched records the scheduler's tracepoints machine-wide while fn
// runs and returns the CPU time per process name.
func recordSched(ctx context.Context, perf, dir string, fn func() error) (map[string]time.Duration, error) {
	data := filepath.Join(dir, "sched.data")
	defer os.Remove(data)
	cmd := exec.CommandContext(ctx, perf, "sched", "record", "-a", "-q", "-o", data)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	// perf needs a moment to open its events on every CPU.
	time.Sleep(500 * time.Millisecond)
	runErr := fn()
	_ = cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err != nil && !endedBy(cmd.ProcessState, syscall.SIGINT) {
		return nil, fmt.Errorf("perf sched record: %v: %s", err, stderr.String())
	}
	if runErr != nil {
		return nil, runErr
	}
	out, err := exec.CommandContext(ctx, perf, "sched", "timehist", "-i", data, "-s").Output()
	if err != nil {
		return nil, fmt.Errorf("perf sched timehist: %w", err)
	}
	return parseTimehistSummary(out)
}

// endedBy reports whether the process was ended by sig (perf usually
// handles SIGINT and exits 0; if it does not, that is no failure either).
func endedBy(ps *os.ProcessState, sig syscall.Signal) bool {
	ws, ok := ps.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == sig
}

// timehistTask is a task line of `perf sched timehist -s`'s summary:
// "comm[tid]" or "comm[tid/pid]", parent, sched-in count, run time (ms).
var timehistTask = regexp.MustCompile(`^\s*(.+)\[[0-9/]+\]\s+\S+\s+\d+\s+([0-9.]+)\s`)

// parseTimehistSummary sums the run time of every task (terminated ones
// included) by command name.
func parseTimehistSummary(out []byte) (map[string]time.Duration, error) {
	byComm := map[string]time.Duration{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	summary := false
	for sc.Scan() {
		line := sc.Text()
		if strings.Contains(line, "Runtime summary") {
			summary = true
			continue
		}
		m := timehistTask.FindStringSubmatch(line)
		if !summary || m == nil {
			continue
		}
		ms, err := strconv.ParseFloat(m[2], 64)
		if err != nil {
			return nil, fmt.Errorf("run time in %q: %w", line, err)
		}
		byComm[strings.TrimSpace(m[1])] += time.Duration(ms * float64(time.Millisecond))
	}
	if !summary {
		return nil, fmt.Errorf("no runtime summary in perf's output")
	}
	return byComm, sc.Err()
}
