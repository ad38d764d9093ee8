// The bench command measures Nucleus against raw runsc on this machine: a
// cold run of /bin/true, exec into a running sandbox, a burst of concurrent
// runs, the memory of idle sandboxes, the control plane, and start latency
// under load. Every nucleusd figure is paired with a raw runsc baseline
// measured in the same run, alternately (A B A B), and reported as a ratio
// of medians. It starts its own nucleusd with temporary directories and
// removes everything it made at the end.
//
// Usage (as root, after make build):
//
//	go run ./bench -nucleusd bin/nucleusd -nucleusctl bin/nucleusctl -runsc bin/runsc -out bench/results.json
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// config holds the flags.
type config struct {
	nucleusd, nucleusctl, runsc string
	out, md, from               string
	quick                       bool
	pairs                       int // cold run pairs
	execPairs                   int
	burstN, burstRounds         int
	densityN                    int
	scaleN                      int
	records                     int
	loadPairs                   int
	figures                     map[string]bool
	runscFlags                  []string
	daemonLogLevel              string
	daemonExtra                 string // TOML appended to the daemon's config
	keep                        bool
	cpuProfile                  string
	runTmpfs                    bool // runtime state on a tmpfs, as /run is
	settle                      time.Duration
	cliOK                       bool   // nucleusctl runs
	shim, runscShim             string // the ctr figure's two shims
}

func parseFlags(args []string) (*config, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	c := &config{}
	var figures, runscFlags string
	fs.StringVar(&c.nucleusd, "nucleusd", "bin/nucleusd", "nucleusd binary")
	fs.StringVar(&c.nucleusctl, "nucleusctl", "bin/nucleusctl", "nucleusctl binary; CLI figures are skipped when it does not run")
	fs.StringVar(&c.runsc, "runsc", "bin/runsc", "runsc binary, for nucleusd and the raw baseline")
	fs.StringVar(&c.shim, "shim", "bin/containerd-shim-nucleus-v2", "the ctr figure's Nucleus shim")
	fs.StringVar(&c.runscShim, "runsc-shim", "bin/containerd-shim-runsc-v1", "the ctr figure's baseline, gVisor's shim (make bin/containerd-shim-runsc-v1)")
	fs.StringVar(&c.out, "out", "bench/results.json", "JSON results file; empty: none")
	fs.StringVar(&c.md, "md", "", "also write the table as Markdown to this file (for the README)")
	fs.StringVar(&c.from, "from", "", "measure nothing: print (and with -md write) the table of this earlier run's JSON results file")
	fs.BoolVar(&c.quick, "quick", false, "few pairs and small N, to iterate (not for the README)")
	fs.IntVar(&c.pairs, "pairs", 20, "cold run pairs (nucleusd vs raw runsc)")
	fs.IntVar(&c.execPairs, "exec-pairs", 30, "exec pairs")
	fs.IntVar(&c.burstN, "burst", 50, "concurrent runs in one burst")
	fs.IntVar(&c.burstRounds, "burst-rounds", 5, "bursts per variant (the wall-time row is the median of these)")
	fs.IntVar(&c.densityN, "density", 50, "idle sandboxes for the density and under-load figures")
	fs.IntVar(&c.scaleN, "scale", 200, "running sandboxes for the stats-at-scale and restart figures")
	fs.IntVar(&c.records, "records", 200, "container records for the control-plane figure")
	fs.IntVar(&c.loadPairs, "load-pairs", 10, "start-latency pairs, idle and under load")
	fs.StringVar(&figures, "figures", "cold,sched,breakdown,leads,exec,pods,load,density,burst,files,control,unpack,image,ctr,snapshots,net,scale,abuse", "figures to run, comma-separated")
	fs.StringVar(&runscFlags, "runsc-flags", "", "extra global runsc flags for nucleusd and raw alike, comma-separated (e.g. --debug)")
	fs.StringVar(&c.daemonExtra, "daemon-config", "", "TOML appended to the benchmark daemon's nucleusd.toml, for experiments (e.g. \"[supervisors]\\nmax_idle = 64\")")
	fs.StringVar(&c.daemonLogLevel, "log-level", "info", "nucleusd --log-level (debug logs every call with its duration)")
	fs.StringVar(&c.cpuProfile, "cpu-profile", "", "directory (absolute) where nucleusd and every supervisor write a Go CPU profile (one file per process; merge with `go tool pprof -top DIR/supervisor-*.pprof`); empty: none")
	fs.BoolVar(&c.keep, "keep", false, "keep the temporary directory (daemon log, state) after cleanup")
	fs.DurationVar(&c.settle, "settle", 400*time.Millisecond, "pause after each sample of the cold, exec and start-latency comparisons, so work nucleusd defers past an answer (its next spare supervisor, host cleanup) lands in no other sample; its CPU is counted in the sample that caused it")
	fs.BoolVar(&c.runTmpfs, "run-tmpfs", true, "put nucleusd's --state and raw runsc's --root on a tmpfs, as /run is in production; false: on the temporary directory's filesystem")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if c.quick {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		def := func(name string, p *int, v int) {
			if !set[name] {
				*p = v
			}
		}
		def("pairs", &c.pairs, 5)
		def("exec-pairs", &c.execPairs, 5)
		def("burst", &c.burstN, 10)
		def("burst-rounds", &c.burstRounds, 1)
		def("density", &c.densityN, 10)
		def("scale", &c.scaleN, 20)
		def("records", &c.records, 50)
		def("load-pairs", &c.loadPairs, 3)
	}
	c.figures = map[string]bool{}
	for _, f := range strings.Split(figures, ",") {
		if f = strings.TrimSpace(f); f != "" {
			c.figures[f] = true
		}
	}
	for _, f := range strings.Split(runscFlags, ",") {
		if f = strings.TrimSpace(f); f != "" {
			c.runscFlags = append(c.runscFlags, f)
		}
	}
	for _, p := range []*string{&c.nucleusd, &c.nucleusctl, &c.runsc, &c.shim, &c.runscShim} {
		abs, err := filepath.Abs(*p)
		if err != nil {
			return nil, err
		}
		*p = abs
	}
	return c, nil
}

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		os.Exit(2)
	}
	os.Exit(run(cfg))
}

func run(cfg *config) int {
	if cfg.from != "" {
		return render(cfg)
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "bench: runsc and nucleusd need root")
		return 1
	}
	for _, p := range []string{cfg.nucleusd, cfg.runsc} {
		if _, err := os.Stat(p); err != nil {
			fmt.Fprintf(os.Stderr, "bench: %v (run make build)\n", err)
			return 1
		}
	}
	cfg.cliOK = cliWorks(cfg.nucleusctl)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	res := &Results{Started: time.Now().UTC(), Host: hostInfo(), Config: cfg.describe()}
	if !cfg.cliOK {
		res.Notes = append(res.Notes, "nucleusctl is missing or does not run: the CLI rows are skipped")
	}
	e, err := newEnv(ctx, cfg)
	if err == nil {
		for k, v := range machineFacts(ctx, e.base, cfg.runsc) {
			res.Host[k] = v
		}
		err = runFigures(ctx, e, res)
	}
	if e != nil {
		res.Cleanup = e.cleanup()
	}
	res.Finished = time.Now().UTC()
	res.print(os.Stdout)
	if cfg.out != "" {
		if werr := res.write(cfg.out); werr != nil {
			fmt.Fprintf(os.Stderr, "bench: %v\n", werr)
			return 1
		}
		fmt.Printf("\nwrote %s\n", cfg.out)
	}
	if cfg.md != "" {
		if werr := res.writeMarkdown(cfg.md); werr != nil {
			fmt.Fprintf(os.Stderr, "bench: %v\n", werr)
			return 1
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		return 1
	}
	return 0
}

// render prints the table of the results file cfg.from and, with -md,
// writes it as Markdown: a README table from the results a run left.
func render(cfg *config) int {
	data, err := os.ReadFile(cfg.from)
	var res Results
	if err == nil {
		err = json.Unmarshal(data, &res)
	}
	if err == nil {
		res.print(os.Stdout)
		if cfg.md != "" {
			err = res.writeMarkdown(cfg.md)
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %s: %v\n", cfg.from, err)
		return 1
	}
	return 0
}

// cliWorks says whether nucleusctl exists and answers --help.
func cliWorks(path string) bool {
	return exec0(path, "--help") == nil
}

// figureStep is one figure (or a few measured together) of a run.
type figureStep struct {
	name string
	fn   func(context.Context, *env) ([]*Figure, error)
}

// runFigures runs the selected figures in an order that keeps each one's
// conditions clean: the control plane's 200 records come last.
func runFigures(ctx context.Context, e *env, res *Results) error {
	steps := []figureStep{
		{"cold", coldFigure},
		{"sched", schedFigure}, // figure 1 per process, from scheduler tracepoints
		{"breakdown", breakdownFigure},
		{"leads", leadsFigure},
		{"exec", execFigure},
		{"pods", podsFigure},        // a run into a running sandbox
		{"density", densityFigures}, // with "load": start latency idle and with the sandboxes running
		{"burst", burstFigure},
		{"snapshots", snapshotsFigure},
		{"files", filesFigure},
		{"control", controlFigure},
		{"unpack", unpackFigure},   // needs no container: images.Import vs tar -x
		{"image", imageColdFigure}, // cold run from an image vs the host root, the writable layer's cost
		{"ctr", ctrFigure},         // ctr run through our containerd shim vs gVisor's
		{"net", netFigures},        // a daemon of its own, in test namespaces
		{"abuse", abuseFigure},
		{"scale", scaleFigure}, // last: kills and restarts nucleusd
	}
	var selected []figureStep
	for _, s := range steps {
		if e.cfg.figures[s.name] || (s.name == "density" && e.cfg.figures["load"]) {
			selected = append(selected, s)
		}
	}
	return runSteps(ctx, e, res, selected, e.deleteAll)
}

// runSteps runs steps in order, each followed by deleteAll. A figure that
// fails is noted in the results and the next ones still run (a run keeps
// every figure it could measure); the failures are returned at the end. An
// interrupted run, or a figure that leaves containers behind, stops there.
func runSteps(ctx context.Context, e *env, res *Results, steps []figureStep, deleteAll func(context.Context) (int, error)) error {
	var failed []error
	for _, s := range steps {
		if ctx.Err() != nil {
			break
		}
		fmt.Fprintf(os.Stderr, "bench: %s ...\n", s.name)
		start := time.Now()
		figs, err := s.fn(ctx, e)
		for _, f := range figs {
			f.Took = time.Since(start).Round(time.Millisecond).String()
			res.Figures = append(res.Figures, f)
		}
		if err != nil {
			failed = append(failed, fmt.Errorf("%s: %w", s.name, err))
			res.Notes = append(res.Notes, fmt.Sprintf("figure %q failed (the next figures ran): %v", s.name, err))
			fmt.Fprintf(os.Stderr, "bench: %s failed: %v\n", s.name, err)
		}
		if n, err := deleteAll(ctx); err != nil || n > 0 {
			return errors.Join(append(failed, fmt.Errorf("%s left %d containers behind (%v)", s.name, n, err))...)
		}
	}
	if ctx.Err() != nil {
		failed = append(failed, ctx.Err())
	}
	return errors.Join(failed...)
}
