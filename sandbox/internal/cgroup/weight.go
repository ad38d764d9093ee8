package cgroup

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// SetCPUShares creates the cgroup path (clean, absolute, below the root;
// e.g. "/nucleus", the parent of every container's cgroup) in the CPU
// hierarchy and gives it shares: cgroup v1 cpu.shares (2-262144, 1024 is
// a task's or a sibling's default), on v2 the equivalent cpu.weight. All
// the containers under it then share that weight against the rest of the
// host (nucleusd among it) when the CPUs are contended. It returns the
// file written.
func SetCPUShares(path string, shares uint64) (string, error) {
	if shares < 2 || shares > 262144 {
		return "", fmt.Errorf("cpu shares %d: want 2-262144", shares)
	}
	if path == "" || path[0] != '/' || filepath.Clean(path) != path || path == "/" {
		return "", fmt.Errorf("cgroup path %q: want a clean absolute path below the root", path)
	}
	mounts, err := ReadMounts()
	if err != nil {
		return "", err
	}
	dir, file, value := "", "", ""
	if mnt, ok := mounts["cpu"]; ok {
		dir, file, value = filepath.Join(mnt, path), "cpu.shares", strconv.FormatUint(shares, 10)
	} else if mnt, ok := mounts[""]; ok {
		// cgroup v2: the kernel's own mapping from shares to weight.
		weight := 1 + ((shares-2)*9999)/262142
		dir, file, value = filepath.Join(mnt, path), "cpu.weight", strconv.FormatUint(weight, 10)
	} else {
		return "", fmt.Errorf("no cpu cgroup hierarchy is mounted")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create cgroup %s: %w", dir, err)
	}
	target := filepath.Join(dir, file)
	if err := os.WriteFile(target, []byte(value), 0o644); err != nil {
		return "", fmt.Errorf("write %s: %w", target, err)
	}
	return target, nil
}
