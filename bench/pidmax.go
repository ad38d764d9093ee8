package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

const pidMaxFile = "/proc/sys/kernel/pid_max"

// raisePidMax makes kernel.pid_max hold n running containers (~40 host
// threads each, as nucleusd's start-up check counts them) for the scale
// figure, as deploy/sysctl.d does on an installed host, and returns what
// puts the old value back.
func raisePidMax(n int) (restore func(), err error) {
	b, err := os.ReadFile(pidMaxFile)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", pidMaxFile, err)
	}
	old, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("parsing %s: %w", pidMaxFile, err)
	}
	need := max(n*40*2, 1<<16)
	if old >= need {
		return func() {}, nil
	}
	if err := os.WriteFile(pidMaxFile, []byte(strconv.Itoa(need)), 0); err != nil {
		return nil, fmt.Errorf("raising kernel.pid_max to %d for %d sandboxes: %w", need, n, err)
	}
	return func() { _ = os.WriteFile(pidMaxFile, []byte(strconv.Itoa(old)), 0) }, nil
}
