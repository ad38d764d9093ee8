// Package cgroup reads the few host cgroup values the sandbox package needs
// (OOM-kill counts and limits) for a process, and removes a container's
// cgroup that runsc left behind, on cgroup v1 and v2.
package cgroup

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// Dir returns the host directory of pid's cgroup for controller ("memory",
// "pids"): the v1 hierarchy that has the controller, else the v2 one. It
// reads the mount table; a caller that asks often keeps a Mounts instead.
func Dir(pid int, controller string) (string, error) {
	mounts, err := ReadMounts()
	if err != nil {
		return "", err
	}
	return mounts.Dir(pid, controller)
}

// Mounts maps each v1 controller to its hierarchy's mount point, and "" to
// the v2 one. Cgroup hierarchies are mounted at boot and stay: read once.
type Mounts map[string]string

// MountTable is the host's cgroup mount table, read on first use and kept
// for the process's life; a read that fails is tried again on the next use.
// Its zero value is ready; it is safe for concurrent use.
type MountTable struct {
	mu     sync.Mutex
	mounts Mounts
}

// Get returns the table, reading it if no read has succeeded yet.
func (t *MountTable) Get() (Mounts, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.mounts == nil {
		mounts, err := ReadMounts()
		if err != nil {
			return nil, err
		}
		t.mounts = mounts
	}
	return t.mounts, nil
}

// Dir is the package's Dir with this mount table.
func (m Mounts) Dir(pid int, controller string) (string, error) {
	cg, err := m.Of(pid)
	if err != nil {
		return "", err
	}
	return cg.Dir(controller)
}

// Cgroups are one process's cgroups as host directories, from one read of
// its /proc/<pid>/cgroup.
type Cgroups struct {
	pid int
	v1  map[string]string // controller -> directory
	v2  string            // the unified hierarchy's directory, "" if none
}

// Of reads pid's cgroups.
func (m Mounts) Of(pid int) (Cgroups, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return Cgroups{}, err
	}
	cg := Cgroups{pid: pid, v1: map[string]string{}}
	for _, line := range strings.Split(string(data), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			if mnt, ok := m[""]; ok {
				cg.v2 = filepath.Join(mnt, parts[2])
			}
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			if mnt, ok := m[c]; ok {
				cg.v1[c] = filepath.Join(mnt, parts[2])
			}
		}
	}
	return cg, nil
}

// Dir is the directory of controller: its v1 hierarchy's, else the v2 one.
func (c Cgroups) Dir(controller string) (string, error) {
	if dir, ok := c.v1[controller]; ok {
		return dir, nil
	}
	if c.v2 != "" {
		return c.v2, nil
	}
	return "", fmt.Errorf("no %s cgroup for pid %d", controller, c.pid)
}

// CPUUsage is the CPU time, in nanoseconds, that the tasks of the cgroup at
// dir have used: v1 cpuacct.usage, or v2 cpu.stat's usage_usec.
func CPUUsage(dir string) (uint64, error) {
	if data, err := os.ReadFile(filepath.Join(dir, "cpuacct.usage")); err == nil {
		return strconv.ParseUint(strings.TrimSpace(string(data)), 10, 64)
	}
	data, err := os.ReadFile(filepath.Join(dir, "cpu.stat"))
	if err != nil {
		return 0, err
	}
	if v, ok := field(data, "usage_usec"); ok {
		return v * 1000, nil
	}
	return 0, fmt.Errorf("no CPU usage under %s", dir)
}

// ReadMounts reads the cgroup mount points from /proc/self/mountinfo.
func ReadMounts() (Mounts, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m := Mounts{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		// id parent maj:min root mountpoint opts... - fstype source superopts
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		fields, tail := strings.Fields(pre), strings.Fields(post)
		if len(fields) < 5 || len(tail) < 3 {
			continue
		}
		switch tail[0] {
		case "cgroup2":
			if _, seen := m[""]; !seen {
				m[""] = fields[4]
			}
		case "cgroup":
			for _, opt := range strings.Split(tail[2], ",") {
				if _, seen := m[opt]; !seen {
					m[opt] = fields[4]
				}
			}
		}
	}
	return m, sc.Err()
}

// OOMKills returns how many processes the kernel OOM killer has killed in
// the memory cgroup dir (v1 memory.oom_control, v2 memory.events).
func OOMKills(dir string) (uint64, error) {
	for _, file := range []string{"memory.oom_control", "memory.events"} {
		data, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			continue
		}
		if v, ok := field(data, "oom_kill"); ok {
			return v, nil
		}
	}
	return 0, fmt.Errorf("no oom_kill count under %s", dir)
}

// MemoryLimit returns the memory limit of the cgroup dir, 0 when unlimited.
func MemoryLimit(dir string) (uint64, error) {
	return limit(dir, "memory.limit_in_bytes", "memory.max")
}

// MemoryUsage returns the memory the cgroup dir charges now (v1
// memory.usage_in_bytes, v2 memory.current).
func MemoryUsage(dir string) (uint64, error) {
	return limit(dir, "memory.usage_in_bytes", "memory.current")
}

// PidsLimit returns the pids limit of the cgroup dir, 0 when unlimited.
func PidsLimit(dir string) (uint64, error) { return limit(dir, "pids.max", "pids.max") }

func limit(dir, v1, v2 string) (uint64, error) {
	var lastErr error
	for _, file := range []string{v1, v2} {
		data, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			lastErr = err
			continue
		}
		s := strings.TrimSpace(string(data))
		if s == "max" {
			return 0, nil
		}
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, err
		}
		if v >= 1<<62 { // v1 "unlimited" is a huge page-rounded number
			return 0, nil
		}
		return v, nil
	}
	return 0, lastErr
}

// field returns the value of "key N" in a flat-keyed cgroup file.
func field(data []byte, key string) (uint64, bool) {
	for _, line := range bytes.Split(data, []byte("\n")) {
		k, v, ok := bytes.Cut(line, []byte(" "))
		if ok && string(k) == key {
			n, err := strconv.ParseUint(string(bytes.TrimSpace(v)), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// Remove removes the cgroup at path (a spec's linux.cgroupsPath: clean,
// absolute, below the root) from every mounted hierarchy that has it. rmdir
// removes only a cgroup without processes or child cgroups; one that still
// has them is an error. A hierarchy without it is not.
func (m Mounts) Remove(path string) error {
	if !filepath.IsAbs(path) || filepath.Clean(path) != path || path == "/" {
		return fmt.Errorf("cgroup path %q: want a clean absolute path below the root", path)
	}
	seen := map[string]bool{}
	var errs []error
	for _, mnt := range m {
		if seen[mnt] {
			continue
		}
		seen[mnt] = true
		// rmdir only (a cgroup is a directory): os.Remove tries unlink
		// first, a second failing call per hierarchy on every delete.
		dir := filepath.Join(mnt, path)
		if err := unix.Rmdir(dir); err != nil && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("removing cgroup %s: %w", dir, err))
		}
	}
	return errors.Join(errs...)
}
