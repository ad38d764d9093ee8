package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Results is what the JSON file holds.
type Results struct {
	Started  time.Time         `json:"started"`
	Finished time.Time         `json:"finished"`
	Host     map[string]string `json:"host"`
	Config   map[string]any    `json:"config"`
	Figures  []*Figure         `json:"figures"`
	Notes    []string          `json:"notes,omitempty"`
	Cleanup  []string          `json:"cleanup,omitempty"`
}

// Figure is one of the measurements: rows of variants, each with
// its baseline's ratio.
type Figure struct {
	Key   string   `json:"key"`
	Title string   `json:"title"`
	Rows  []*Row   `json:"rows"`
	Notes []string `json:"notes,omitempty"`
	Took  string   `json:"took"`
}

// Row is one variant of a figure. Values are in Unit; Ratio is
// Median / the Baseline row's Median (0: no baseline).
type Row struct {
	Name     string  `json:"name"`
	Unit     string  `json:"unit"`
	N        int     `json:"n"`
	Median   float64 `json:"median"`
	P90      float64 `json:"p90"`
	P99      float64 `json:"p99"`
	Baseline string  `json:"baseline,omitempty"`
	Ratio    float64 `json:"ratio,omitempty"`
	Target   string  `json:"target,omitempty"`
	Met      *bool   `json:"met,omitempty"`
}

// timeRow summarizes durations in seconds.
func timeRow(name string, samples []time.Duration) *Row {
	s := summarize(samples)
	return &Row{Name: name, Unit: "s", N: s.N, Median: s.Median, P90: s.P90, P99: s.P99}
}

// msRow summarizes durations in milliseconds.
func msRow(name string, samples []time.Duration) *Row {
	s := summarize(samples)
	return &Row{Name: name, Unit: "ms", N: s.N, Median: s.Median * 1e3, P90: s.P90 * 1e3, P99: s.P99 * 1e3}
}

// valueRow is a single measured value (memory, a count).
func valueRow(name, unit string, v float64) *Row {
	return &Row{Name: name, Unit: unit, N: 1, Median: v, P90: v, P99: v}
}

// against sets r's ratio to base's median.
func (r *Row) against(base *Row) *Row {
	r.Baseline = base.Name
	r.Ratio = ratio(r.Median, base.Median)
	return r
}

// target records a goal and whether it was met.
func (r *Row) target(desc string, met bool) *Row {
	r.Target = desc
	r.Met = &met
	return r
}

func (res *Results) write(path string) error {
	data, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

func (res *Results) print(w io.Writer) {
	fmt.Fprintf(w, "\nNucleus vs raw runsc  (%s, %s CPUs, %s)\n", res.Host["kernel"], res.Host["cpus"], res.Started.Format(time.RFC3339))
	if m := machineLine(res.Host); m != "" {
		fmt.Fprintln(w, m)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "figure\tvariant\tn\tmedian\tp90\tp99\tratio\ttarget\t")
	for _, f := range res.Figures {
		for i, r := range f.Rows {
			fmt.Fprintln(tw, strings.Join(f.cells(i, r, "x", " ok", " MISSED"), "\t")+"\t")
		}
	}
	_ = tw.Flush()
	for _, f := range res.Figures {
		for _, n := range f.Notes {
			fmt.Fprintf(w, "  %s: %s\n", f.Key, n)
		}
	}
	for _, n := range append(append([]string{}, res.Notes...), res.Cleanup...) {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
}

// cells are the table cells of row r, the i-th of f: the figure's key on
// its first row, the ratio with timesSign, the target with met or missed.
func (f *Figure) cells(i int, r *Row, timesSign, met, missed string) []string {
	title := ""
	if i == 0 {
		title = f.Key
	}
	rat := ""
	if r.Baseline != "" {
		rat = fmt.Sprintf("%.2f%s", r.Ratio, timesSign)
	}
	tgt := r.Target
	if r.Met != nil {
		if *r.Met {
			tgt += met
		} else {
			tgt += missed
		}
	}
	return []string{title, r.Name, strconv.Itoa(r.N), fmtVal(r.Median, r.Unit), fmtVal(r.P90, r.Unit), fmtVal(r.P99, r.Unit), rat, tgt}
}

func fmtVal(v float64, unit string) string {
	switch unit {
	case "s":
		return fmt.Sprintf("%.3f s", v)
	case "ms":
		return fmt.Sprintf("%.2f ms", v)
	case "MiB":
		return fmt.Sprintf("%.1f MiB", v)
	case "x":
		return fmt.Sprintf("%.2fx", v)
	}
	return fmt.Sprintf("%.3g %s", v, unit)
}

// writeMarkdown writes the Markdown table to path.
func (res *Results) writeMarkdown(path string) error {
	var b strings.Builder
	res.markdown(&b)
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// markdown renders the table for a README.
func (res *Results) markdown(w io.Writer) {
	if m := machineLine(res.Host); m != "" {
		fmt.Fprintf(w, "%s; kernel %s, %s.\n\n", m, res.Host["kernel"], res.Started.Format(time.RFC3339))
	}
	fmt.Fprintln(w, "| figure | variant | n | median | p90 | p99 | ratio vs raw | target |")
	fmt.Fprintln(w, "|---|---|--:|--:|--:|--:|--:|---|")
	for _, f := range res.Figures {
		for i, r := range f.Rows {
			fmt.Fprintf(w, "| %s |\n", strings.Join(f.cells(i, r, "×", " ✓", " ✗"), " | "))
		}
	}
}

func hostInfo() map[string]string {
	h := map[string]string{"cpus": fmt.Sprint(runtime.NumCPU()), "go": runtime.Version()}
	if out, err := exec.Command("uname", "-r").Output(); err == nil {
		h["kernel"] = strings.TrimSpace(string(out))
	}
	if data, err := os.ReadFile("/proc/loadavg"); err == nil {
		h["loadavg_at_start"] = strings.TrimSpace(string(data))
	}
	return h
}

func (c *config) describe() map[string]any {
	figs := []string{}
	for f := range c.figures {
		figs = append(figs, f)
	}
	return map[string]any{
		"quick": c.quick, "pairs": c.pairs, "exec_pairs": c.execPairs, "burst": c.burstN,
		"burst_rounds": c.burstRounds, "density": c.densityN, "records": c.records,
		"load_pairs": c.loadPairs, "runsc_flags": c.runscFlags, "figures": figs,
		"cli": c.cliOK, "log_level": c.daemonLogLevel, "run_tmpfs": c.runTmpfs, "settle": c.settle.String(),
	}
}

// exec0 runs a command quietly and returns its error.
func exec0(name string, args ...string) error {
	return exec.Command(name, args...).Run()
}
