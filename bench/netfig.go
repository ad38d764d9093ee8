package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/bundle"
	"nucleus.dev/nucleus/client"
	sandboxnetns "nucleus.dev/nucleus/sandbox/netns"
	"nucleus.dev/nucleus/sandbox/runsc"
)

// netThroughputBytes is what each throughput sample sends (64 MiB).
const netThroughputBytes = 64 << 20

// netFigures: a cold run on the egress network against one with network
// none (same daemon, alternating; target: egress adds at most 15 ms), and
// TCP throughput from a container to a test host against raw runsc whose
// sandbox joins a namespace routed through the same daemon namespace (a
// plain veth: no bridge, policy or NAT; target ≥ 0.9×).
func netFigures(ctx context.Context, e *env) ([]*Figure, error) {
	n, err := newNetEnv(ctx, e)
	defer n.close()
	if err != nil {
		return nil, fmt.Errorf("network figure setup: %w", err)
	}
	cold, err := netColdFigure(ctx, e, n)
	if err != nil {
		return nil, err
	}
	tput, err := netThroughputFigure(ctx, e, n)
	figs := []*Figure{cold}
	if tput != nil {
		figs = append(figs, tput)
	}
	return figs, err
}

func netRun(ctx context.Context, c *client.Client, spec *nucleusv1.ContainerSpec) (time.Duration, error) {
	begin := time.Now()
	ex, id, err := c.Run(ctx, spec, client.RunOptions{})
	d := time.Since(begin)
	if err == nil && ex.GetExitCode() != 0 {
		err = fmt.Errorf("run %s: exit %d (%s: %s)", id, ex.GetExitCode(), ex.GetReason(), ex.GetMessage())
	}
	return d, err
}

func netColdFigure(ctx context.Context, e *env, n *netEnv) (*Figure, error) {
	none := &nucleusv1.ContainerSpec{Args: trueArgs, AutoRemove: true, Network: "none"}
	egress := &nucleusv1.ContainerSpec{Args: trueArgs, AutoRemove: true, Network: "egress",
		Egress: &nucleusv1.EgressPolicy{Mode: nucleusv1.EgressMode_EGRESS_MODE_ALLOWLIST, Cidrs: []string{benchUplinkInternet.String() + "/32"}}}
	rawRoot := filepath.Join(n.dir, "raw-runsc")
	if err := os.MkdirAll(rawRoot, 0o700); err != nil {
		return nil, err
	}
	vs := []variant{
		{"nucleusd run, network none", func(ctx context.Context) (time.Duration, error) { return netRun(ctx, n.c, none) }},
		{"nucleusd run, network egress (allowlist)", func(ctx context.Context) (time.Duration, error) { return netRun(ctx, n.c, egress) }},
		{"raw runsc run, --network=none", func(ctx context.Context) (time.Duration, error) {
			return n.rawRun(ctx, e, rawRoot, "none", trueArgs)
		}},
		{"raw runsc run, --network=sandbox on a routed veth", func(ctx context.Context) (time.Duration, error) {
			return n.rawRun(ctx, e, rawRoot, "sandbox", trueArgs)
		}},
	}
	// The settle pause keeps the background host cleanup of one auto_remove
	// run (its detach, a none run's too) out of the next sample.
	samples, cpu, err := alternateCPU(ctx, e.cpu, e.cfg.pairs, 2, e.cfg.settle, vs)
	if err != nil {
		return nil, err
	}
	f := &Figure{Key: "8 net cold", Title: "Cold run of /bin/true with egress networking vs network none (same daemon, in a test namespace, alternating)"}
	base := timeRow(vs[0].name, samples[0])
	with := timeRow(vs[1].name, samples[1]).against(base)
	added := (with.Median - base.Median) * 1e3
	f.Rows = append(f.Rows, base, with, valueRow("added by egress networking (median)", "ms", added).target("<= 15 ms", added <= 15))
	rawBase := timeRow(vs[2].name, samples[2])
	rawNet := timeRow(vs[3].name, samples[3]).against(rawBase)
	f.Rows = append(f.Rows, rawBase, rawNet, valueRow("added by runsc's netstack alone (median, raw)", "ms", (rawNet.Median-rawBase.Median)*1e3))
	if e.cpu != nil {
		cbase := msRow("CPU outside the sandbox: "+vs[0].name, cpu[0])
		f.Rows = append(f.Rows, cbase, msRow("CPU outside the sandbox: "+vs[1].name, cpu[1]).against(cbase))
		rbase := msRow("CPU outside the sandbox: "+vs[2].name, cpu[2])
		f.Rows = append(f.Rows, rbase, msRow("CPU outside the sandbox: "+vs[3].name, cpu[3]).against(rbase))
		f.Notes = append(f.Notes, "CPU outside the sandbox: cpuacct usage of the benchmark's cgroup (nucleusd, supervisors, runsc command-line processes) per run, its settle pause included")
	}
	f.Notes = append(f.Notes, "raw rows: `runsc run` of nucleusd's bundle; the sandbox one joins a fresh namespace with a routed veth made before the clock starts (what runsc's netstack costs by itself)")
	return f, nil
}

// netThroughputFigure sends netThroughputBytes from a container to the
// sink, alternating nucleusd's egress network and raw runsc.
func netThroughputFigure(ctx context.Context, e *env, n *netEnv) (*Figure, error) {
	script := fmt.Sprintf("busybox dd if=/dev/zero bs=65536 count=%d 2>/dev/null | busybox nc %s %d", netThroughputBytes/65536, benchUplinkInternet, benchSinkPort)
	args := []string{"/bin/busybox", "sh", "-c", script}
	ours := &nucleusv1.ContainerSpec{Args: args, AutoRemove: true, Network: "egress",
		Egress: &nucleusv1.EgressPolicy{Mode: nucleusv1.EgressMode_EGRESS_MODE_ALLOWLIST, Cidrs: []string{benchUplinkInternet.String() + "/32"}}}
	rawRoot := filepath.Join(n.dir, "raw-runsc")
	if err := os.MkdirAll(rawRoot, 0o700); err != nil {
		return nil, err
	}
	vs := []variant{
		{"raw runsc, routed veth", func(ctx context.Context) (time.Duration, error) {
			return n.measureSink(func() error {
				_, err := n.rawRun(ctx, e, rawRoot, "sandbox", []string{"/bin/busybox", "sh", "-c", script})
				return err
			})
		}},
		{"nucleusd, egress network", func(ctx context.Context) (time.Duration, error) {
			return n.measureSink(func() error { _, err := netRun(ctx, n.c, ours); return err })
		}},
	}
	samples, err := alternate(ctx, max(e.cfg.pairs/2, 3), 1, vs)
	if err != nil {
		return nil, err
	}
	f := &Figure{Key: "8 net throughput", Title: fmt.Sprintf("TCP throughput, container -> test host, %d MiB per sample (raw runsc joins a namespace routed by the same daemon namespace)", netThroughputBytes>>20)}
	base := rateRow(vs[0].name, samples[0])
	ourRow := rateRow(vs[1].name, samples[1]).against(base)
	f.Rows = append(f.Rows, base, ourRow.target("ratio >= 0.9", ourRow.Ratio >= 0.9))
	return f, nil
}

// rateRow turns transfer times of netThroughputBytes into MiB/s.
func rateRow(name string, samples []time.Duration) *Row {
	rates := make([]float64, len(samples))
	for i, d := range samples {
		rates[i] = float64(netThroughputBytes>>20) / d.Seconds()
	}
	s := summarizeFloats(rates)
	return &Row{Name: name, Unit: "MiB/s", N: s.N, Median: s.Median, P90: s.P90, P99: s.P99}
}

// measureSink runs send and times the sink's receipt of
// netThroughputBytes, from its first byte to the last.
func (n *netEnv) measureSink(send func() error) (time.Duration, error) {
	type result struct {
		d   time.Duration
		err error
	}
	got := make(chan result, 1)
	go func() {
		conn, err := n.sink.Accept()
		if err != nil {
			got <- result{err: err}
			return
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(2 * time.Minute))
		first := make([]byte, 1)
		if _, err := io.ReadFull(conn, first); err != nil {
			got <- result{err: err}
			return
		}
		begin := time.Now()
		m, err := io.CopyN(io.Discard, conn, netThroughputBytes-1)
		if err != nil {
			err = fmt.Errorf("sink got %d of %d bytes: %w (namespaces' state: %s)", m+1, netThroughputBytes, err, n.stallReport())
		}
		got <- result{time.Since(begin), err}
	}()
	serr := send()
	select {
	case r := <-got:
		if r.err == nil {
			r.err = serr
		}
		return r.d, r.err
	case <-time.After(2 * time.Minute):
		return 0, fmt.Errorf("the sink got nothing (send: %v)", serr)
	}
}

// rawRun is `runsc --network=<network> run` of the daemon's bundle for
// args; with "sandbox" it joins a fresh raw namespace. Only runsc is timed.
func (n *netEnv) rawRun(ctx context.Context, e *env, root, network string, args []string) (time.Duration, error) {
	id := e.raw.newID()
	dir := filepath.Join(n.dir, "raw-bundles", id)
	paths := bundle.Paths{BundleDir: dir}
	if network == "sandbox" {
		// A fresh namespace and veth per run, as the daemon makes per
		// container: runsc's netstack takes the interface over for good.
		if err := n.newRawNS(); err != nil {
			return 0, err
		}
		defer sandboxnetns.Remove(n.rawNS)
		paths.NetNS = n.rawNS
	}
	req := daemonRequest(args)
	if _, err := bundle.Create(id, req, e.raw.daemonPolicy(), paths); err != nil {
		return 0, fmt.Errorf("raw bundle: %w", err)
	}
	defer bundle.Remove(bundle.Paths{BundleDir: dir})

	rs := runsc.Runsc{Binary: e.cfg.runsc, Root: root, Network: network, ExtraFlags: e.cfg.runscFlags}
	flags, err := rs.GlobalFlags()
	if err != nil {
		return 0, err
	}
	cmd := e.raw.command(ctx, root) // for its process group; argv replaced below
	cmd.Args = append(append([]string{e.cfg.runsc}, flags...), "run", "--bundle="+dir, id)
	return timed(cmd)
}
