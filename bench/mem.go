package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// proc is a process of this run.
type proc struct {
	pid  int
	argv []string
	cwd  string
}

// kind names what a process is: "sandbox", "gofer", "supervisor" or "other".
func (p proc) kind() string {
	if len(p.argv) == 0 {
		return "other"
	}
	switch filepath.Base(p.argv[0]) {
	case "runsc-sandbox":
		return "sandbox"
	case "runsc-gofer":
		return "gofer"
	}
	if filepath.Base(p.argv[0]) == "nucleus-supervisor" || len(p.argv) > 1 && p.argv[1] == "supervise" {
		return "supervisor"
	}
	return "other"
}

// container is the container id a process belongs to: runsc's last
// argument, or the supervisor's directory name (its --spec argument's, or
// its working directory's: a supervisor started ahead of need learns its
// spec after exec). It is "" for a spare still waiting for its spec (its
// working directory is /): no container's.
func (p proc) container() string {
	if p.kind() == "supervisor" {
		for i, a := range p.argv {
			if a == "--spec" && i+1 < len(p.argv) {
				return filepath.Base(filepath.Dir(p.argv[i+1]))
			}
		}
		if p.cwd == "/" {
			return ""
		}
		return filepath.Base(p.cwd)
	}
	return p.argv[len(p.argv)-1]
}

// procsMentioning lists the processes (but skip) whose argv mentions dir
// or whose working directory is under it.
func procsMentioning(dir string, skip int) []proc {
	entries, _ := os.ReadDir("/proc")
	var out []proc
	for _, ent := range entries {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil || pid == skip || pid == os.Getpid() {
			continue
		}
		data, err := os.ReadFile(filepath.Join("/proc", ent.Name(), "cmdline"))
		if err != nil || len(data) == 0 {
			continue
		}
		cwd, _ := os.Readlink(filepath.Join("/proc", ent.Name(), "cwd"))
		if !bytes.Contains(data, []byte(dir)) && !strings.HasPrefix(cwd, dir+"/") {
			continue
		}
		argv := strings.Split(strings.TrimRight(string(data), "\x00"), "\x00")
		out = append(out, proc{pid: pid, argv: argv, cwd: cwd})
	}
	return out
}

// statusField reads a "Name:   N kB" field of a /proc file, in KiB.
func kibField(path, name string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			fields := strings.Fields(v)
			if len(fields) == 0 {
				break
			}
			return strconv.ParseInt(fields[0], 10, 64)
		}
	}
	return 0, fmt.Errorf("%s: no %s", path, name)
}

// pssKiB is a process's proportional set size (smaps_rollup).
func pssKiB(pid int) (int64, error) {
	return kibField(fmt.Sprintf("/proc/%d/smaps_rollup", pid), "Pss")
}

// rssKiB is a process's resident set size.
func rssKiB(pid int) (int64, error) {
	return kibField(fmt.Sprintf("/proc/%d/status", pid), "VmRSS")
}

// memByContainer sums PSS per container and kind over procs.
type memByContainer map[string]map[string]int64

func measureMem(procs []proc) (memByContainer, error) {
	m := memByContainer{}
	for _, p := range procs {
		k := p.kind()
		if k == "other" {
			continue
		}
		pss, err := pssKiB(p.pid)
		if err != nil {
			return nil, err
		}
		id := p.container()
		if id == "" {
			continue
		}
		if m[id] == nil {
			m[id] = map[string]int64{}
		}
		m[id][k] += pss
	}
	return m, nil
}

// perContainer returns, per container, the sum of the given kinds in MiB.
func (m memByContainer) perContainer(kinds ...string) []float64 {
	var out []float64
	for _, byKind := range m {
		var sum int64
		for _, k := range kinds {
			sum += byKind[k]
		}
		out = append(out, float64(sum)/1024)
	}
	return out
}

// mibRow summarizes per-container values in MiB.
func mibRow(name string, v []float64) *Row {
	s := summarizeFloats(v)
	return &Row{Name: name, Unit: "MiB", N: s.N, Median: s.Median, P90: s.P90, P99: s.P99}
}
