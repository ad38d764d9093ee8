package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// leadsFigure measures the pieces a cold run is made of and the issue's
// leads, each against its alternative in alternation: process start costs,
// runsc create+start vs run --detach, a shared vs a fresh --root, the warm
// path (exec into a running sandbox vs a cold run), and the runsc calls the
// daemon adds (state, delete --force).
func leadsFigure(ctx context.Context, e *env) ([]*Figure, error) {
	n := max(e.cfg.pairs/2, 3)
	f := &Figure{Key: "L leads", Title: "Where cold-start time goes, and the issue's leads (raw runsc, alternating)"}

	// Process start: what each fork+exec costs before it does any work.
	procs := []variant{
		{"exec /bin/true (floor)", func(ctx context.Context) (time.Duration, error) {
			return timedRun(exec.CommandContext(ctx, "/bin/true"))
		}},
		{"exec nucleusd supervise (Go init, no spec)", func(ctx context.Context) (time.Duration, error) {
			d, _ := timedRun(exec.CommandContext(ctx, e.cfg.nucleusd, "supervise")) // exits 2: no spec
			return d, nil
		}},
		{"exec runsc --version", func(ctx context.Context) (time.Duration, error) {
			return timedRun(exec.CommandContext(ctx, e.cfg.runsc, "--version"))
		}},
	}
	if sup := filepath.Join(filepath.Dir(e.cfg.nucleusd), "nucleus-supervisor"); fileExists(sup) {
		procs = append(procs, variant{"exec nucleus-supervisor (Go init, no spec)", func(ctx context.Context) (time.Duration, error) {
			d, _ := timedRun(exec.CommandContext(ctx, sup)) // exits 2: no spec
			return d, nil
		}})
	}
	if e.cfg.cliOK {
		procs = append(procs, variant{"exec nucleusctl --help", func(ctx context.Context) (time.Duration, error) {
			return timedRun(exec.CommandContext(ctx, e.cfg.nucleusctl, "--help"))
		}})
	}
	s, err := alternate(ctx, n*2, 2, procs)
	if err != nil {
		return nil, err
	}
	floor := msRow(procs[0].name, s[0])
	f.Rows = append(f.Rows, floor)
	for i := 1; i < len(procs); i++ {
		f.Rows = append(f.Rows, msRow(procs[i].name, s[i]).against(floor))
	}

	// create + start (two runsc processes) vs run --detach (one).
	two := []variant{
		{"runsc create + start", func(ctx context.Context) (time.Duration, error) {
			id, d, err := e.raw.startDetached(ctx, sleepArgs)
			if id != "" {
				e.raw.discard(id)
			}
			return d, err
		}},
		{"runsc run --detach", func(ctx context.Context) (time.Duration, error) {
			id, dir, err := e.raw.prepare(sleepArgs)
			if err != nil {
				return 0, err
			}
			defer e.raw.discard(id)
			return timed(e.raw.command(ctx, e.raw.root, "run", "--detach", "--bundle="+dir, id))
		}},
	}
	if s, err = alternate(ctx, n, 1, two); err != nil {
		return nil, err
	}
	base := timeRow(two[0].name, s[0])
	f.Rows = append(f.Rows, base, timeRow(two[1].name, s[1]).against(base))

	// One --root for every sandbox (what nucleusd does) vs a fresh one per
	// sandbox: runsc sets up its null-netns once per --shared-root.
	fresh := 0
	roots := []variant{
		{"runsc run, shared --root", func(ctx context.Context) (time.Duration, error) { return e.raw.runArgs(ctx, trueArgs) }},
		{"runsc run, fresh --root each time", func(ctx context.Context) (time.Duration, error) {
			fresh++
			root := filepath.Join(e.raw.dir, fmt.Sprintf("fresh-root-%d", fresh))
			if err := os.MkdirAll(root, 0o700); err != nil {
				return 0, err
			}
			id, dir, err := e.raw.prepare(trueArgs)
			if err != nil {
				return 0, err
			}
			defer e.raw.discard(id)
			d, err := timed(e.raw.command(ctx, root, "run", "--bundle="+dir, id))
			_, _ = unmountUnder(root)
			_ = os.RemoveAll(root)
			return d, err
		}},
	}
	if s, err = alternate(ctx, n, 1, roots); err != nil {
		return nil, err
	}
	base = timeRow(roots[0].name, s[0])
	f.Rows = append(f.Rows, base, timeRow(roots[1].name, s[1]).against(base))

	// The warm path: exec into a sandbox started beforehand vs a cold run;
	// and what the daemon's extra runsc calls cost.
	warmID, _, err := e.raw.startDetached(ctx, sleepArgs)
	if err != nil {
		return nil, err
	}
	defer e.raw.discard(warmID)
	calls := []variant{
		{"runsc run /bin/true (cold)", func(ctx context.Context) (time.Duration, error) { return e.raw.runArgs(ctx, trueArgs) }},
		{"runsc exec /bin/true (warm sandbox)", func(ctx context.Context) (time.Duration, error) { return e.raw.exec(ctx, warmID, "/bin/true") }},
		{"runsc state (running)", func(ctx context.Context) (time.Duration, error) {
			return timed(e.raw.command(ctx, e.raw.root, "state", warmID))
		}},
		{"runsc delete --force (exited)", func(ctx context.Context) (time.Duration, error) { return e.rawDeleteExited(ctx) }},
	}
	if s, err = alternate(ctx, n, 1, calls); err != nil {
		return nil, err
	}
	base = timeRow(calls[0].name, s[0])
	f.Rows = append(f.Rows, base)
	for i := 1; i < len(calls); i++ {
		f.Rows = append(f.Rows, timeRow(calls[i].name, s[i]).against(base))
	}

	// An atomic small-file write (write, fsync, rename, fsync dir) on the
	// file system of --root and --state: the supervisor does several.
	var fs []time.Duration
	for i := range n * 2 {
		d, err := atomicWrite(filepath.Join(e.stateDir, fmt.Sprintf("bench-fsync-%d", i)))
		if err != nil {
			return nil, err
		}
		fs = append(fs, d)
	}
	f.Rows = append(f.Rows, msRow("atomic write+fsync+rename+fsync dir", fs))
	f.Notes = append(f.Notes, "ratios in this figure are against the first row of each group")
	return []*Figure{f}, nil
}

// rawDeleteExited runs a raw /bin/true to exit without deleting it, then
// times runsc delete --force: what removing an exited container costs.
func (e *env) rawDeleteExited(ctx context.Context) (time.Duration, error) {
	id, dir, err := e.raw.prepare(trueArgs)
	if err != nil {
		return 0, err
	}
	defer e.raw.discard(id)
	if _, err := timed(e.raw.command(ctx, e.raw.root, "create", "--bundle="+dir, id)); err != nil {
		return 0, err
	}
	if _, err := timed(e.raw.command(ctx, e.raw.root, "start", id)); err != nil {
		return 0, err
	}
	time.Sleep(200 * time.Millisecond) // /bin/true is done by then
	return timed(e.raw.command(ctx, e.raw.root, "delete", "--force", id))
}

// timedRun times cmd with its output discarded.
func timedRun(cmd *exec.Cmd) (time.Duration, error) {
	start := time.Now()
	err := cmd.Run()
	return time.Since(start), err
}

func atomicWrite(path string) (time.Duration, error) {
	start := time.Now()
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, err
	}
	if _, err := f.WriteString(`{"exit_code":0,"reason":"exited"}` + "\n"); err != nil {
		f.Close()
		return 0, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return 0, err
	}
	f.Close()
	if err := os.Rename(tmp, path); err != nil {
		return 0, err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return 0, err
	}
	err = d.Sync()
	d.Close()
	elapsed := time.Since(start)
	_ = os.Remove(path)
	return elapsed, err
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
