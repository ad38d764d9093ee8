package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// cpuGroup is a cgroup v1 cpuacct group that the benchmark moves itself
// into, so that everything it starts outside the sandboxes (nucleusd, the
// supervisors, the runsc command-line processes) is accounted there. runsc
// moves each sandbox and gofer into its own cgroup (the spec's
// cgroupsPath), so this measures the CPU a run costs outside the sandbox.
type cpuGroup struct {
	dir string
}

const cpuacctRoot = "/sys/fs/cgroup/cpuacct"

// newCPUGroup makes the group and moves this process into it; nil when
// cgroup v1 cpuacct is not there.
func newCPUGroup() (*cpuGroup, error) {
	if _, err := os.Stat(filepath.Join(cpuacctRoot, "cpuacct.usage")); err != nil {
		return nil, nil
	}
	dir := filepath.Join(cpuacctRoot, fmt.Sprintf("nucleus-bench-%d", os.Getpid()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		_ = os.Remove(dir)
		return nil, err
	}
	return &cpuGroup{dir: dir}, nil
}

// usage is the group's CPU time so far.
func (g *cpuGroup) usage() time.Duration {
	if g == nil {
		return 0
	}
	data, err := os.ReadFile(filepath.Join(g.dir, "cpuacct.usage"))
	if err != nil {
		return 0
	}
	ns, _ := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
	return time.Duration(ns)
}

// close moves this process back to the root group and removes the group
// once nothing is left in it.
func (g *cpuGroup) close() error {
	if g == nil {
		return nil
	}
	if err := os.WriteFile(filepath.Join(cpuacctRoot, "cgroup.procs"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return err
	}
	var err error
	for range 50 {
		if err = os.Remove(g.dir); err == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return err
}
