package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// machineSamples is how many times each process start is timed.
const machineSamples = 20

// machineFacts says what kind of machine a run measured, beside its table:
// the CPU model, whether it is virtualised, and what a process start
// costs here (an empty Go program, runsc --version): on a machine where a
// process start costs 30 ms the fixed costs hide that cost 5 ms elsewhere.
// dir is a scratch directory for the empty program.
func machineFacts(ctx context.Context, dir, runsc string) map[string]string {
	f := map[string]string{"cpu_model": cpuModel("/proc/cpuinfo"), "virtualization": virtualization()}
	if bin, err := buildEmptyGo(ctx, dir); err != nil {
		f["empty_go_start"] = "unavailable: " + err.Error()
	} else {
		f["empty_go_start"] = medianStart(ctx, bin)
	}
	f["runsc_version"] = medianStart(ctx, runsc, "--version")
	return f
}

// cpuModel is the first "model name" of a /proc/cpuinfo file.
func cpuModel(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// virtualization names the hypervisor and the container manager this runs
// under, as systemd-detect-virt tells, else from the CPU's hypervisor flag
// and the container managers' marker files.
func virtualization() string {
	detect := func(flag string) string {
		out, err := exec.Command("systemd-detect-virt", flag).Output()
		if s := strings.TrimSpace(string(out)); s != "" && s != "none" {
			return s
		}
		if err != nil && len(out) == 0 {
			return ""
		}
		return "none"
	}
	vm, ctr := detect("--vm"), detect("--container")
	if vm == "" {
		vm = "none"
		if data, err := os.ReadFile("/proc/cpuinfo"); err == nil && strings.Contains(string(data), " hypervisor") {
			vm = "yes (hypervisor CPU flag)"
		}
	}
	if ctr == "" {
		ctr = "none"
		for _, marker := range []string{"/.dockerenv", "/run/.containerenv"} {
			if fileExists(marker) {
				ctr = "yes (" + marker + ")"
			}
		}
	}
	return fmt.Sprintf("vm: %s, container: %s", vm, ctr)
}

// buildEmptyGo builds a Go program that prints nothing and exits.
func buildEmptyGo(ctx context.Context, dir string) (string, error) {
	src := filepath.Join(dir, "emptygo")
	if err := os.MkdirAll(src, 0o700); err != nil {
		return "", err
	}
	files := map[string]string{"go.mod": "module emptygo\n\ngo 1.22\n", "main.go": "package main\n\nfunc main() {}\n"}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(src, name), []byte(text), 0o600); err != nil {
			return "", err
		}
	}
	bin := filepath.Join(src, "emptygo")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return bin, nil
}

// medianStart is the median wall time of machineSamples runs of bin args.
func medianStart(ctx context.Context, bin string, args ...string) string {
	var ds []time.Duration
	for range machineSamples {
		d, err := timedRun(exec.CommandContext(ctx, bin, args...))
		if err != nil {
			return "unavailable: " + err.Error()
		}
		ds = append(ds, d)
	}
	slices.Sort(ds)
	return fmt.Sprintf("%.2f ms", float64(ds[len(ds)/2].Microseconds())/1000)
}

// machineLine is the facts in one line, for the table's header.
func machineLine(h map[string]string) string {
	if h["cpu_model"] == "" {
		return ""
	}
	return fmt.Sprintf("Machine: %s, %s CPUs (%s); process start, median of %d: empty Go program %s, runsc --version %s",
		h["cpu_model"], h["cpus"], h["virtualization"], machineSamples, h["empty_go_start"], h["runsc_version"])
}
