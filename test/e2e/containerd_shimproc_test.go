package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// reapShims waits (up to 15s) for this containerd's shims to exit, and
// kills those that do not (a test that failed half-way).
func (c *containerd) reapShims() {
	deadline := time.Now().Add(15 * time.Second)
	for {
		pids := c.shimPids()
		if len(pids) == 0 {
			return
		}
		if time.Now().After(deadline) {
			for _, pid := range pids {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// shimPids are the shim processes started for this containerd.
func (c *containerd) shimPids() []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !strings.Contains(string(cmdline), "containerd-shim-nucleus-v2") || !strings.Contains(string(cmdline), c.dir) {
			continue
		}
		var pid int
		fmt.Sscan(e.Name(), &pid)
		pids = append(pids, pid)
	}
	return pids
}

// waitShimGone waits (up to 15s) until no shim serves task id any more.
func (c *containerd) waitShimGone(id string) {
	c.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for c.findShim(id) != 0 {
		if time.Now().After(deadline) {
			c.t.Fatalf("the shim of task %s still runs 15s after the task was deleted", id)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// shimPid is the pid of the shim serving task id (from containerd's view:
// `ctr task ls` shows the sandbox; the shim is found by its argv).
func (c *containerd) shimPid(id string) int {
	c.t.Helper()
	if pid := c.findShim(id); pid != 0 {
		return pid
	}
	c.t.Fatalf("no shim process for task %s", id)
	return 0
}

func (c *containerd) findShim(id string) int {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(cmdline), "\x00")
		if !strings.HasSuffix(args[0], "containerd-shim-nucleus-v2") {
			continue
		}
		joined := strings.Join(args, " ")
		if strings.Contains(joined, "-id "+id+" ") && strings.Contains(joined, c.socket) && !strings.Contains(joined, " start") {
			var pid int
			fmt.Sscan(e.Name(), &pid)
			return pid
		}
	}
	return 0
}
