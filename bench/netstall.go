package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// stallReport writes what the namespaces of a throughput sample that
// stalled show - the daemon namespace's nftables ruleset with its counters
// and conntrack statistics, the sink side's TCP sockets - to a file that
// outlives the run, and returns its path ("" if it could not be written).
// A stall was seen twice, each time at ~4.2 MB of 64 MiB through the
// egress network and only inside full runs; this is for the next one.
func (n *netEnv) stallReport() string {
	var b strings.Builder
	for _, c := range []struct {
		ns   string
		argv []string
	}{
		{n.daemonNS, []string{"nft", "list", "ruleset"}},
		{n.daemonNS, []string{"cat", "/proc/net/stat/nf_conntrack"}},
		{n.daemonNS, []string{"ss", "-tinm"}},
		{n.inetNS, []string{"ss", "-tinm"}},
		{n.inetNS, []string{"cat", "/proc/net/snmp"}},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		out, err := exec.CommandContext(ctx, "nsenter", append([]string{"--net=" + c.ns, "--"}, c.argv...)...).CombinedOutput()
		cancel()
		fmt.Fprintf(&b, "## %s in %s (err %v)\n%s\n", strings.Join(c.argv, " "), filepath.Base(c.ns), err, out)
	}
	path := filepath.Join(os.TempDir(), fmt.Sprintf("nucleus-bench-net-stall-%s.txt", time.Now().UTC().Format("20060102T150405Z")))
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return ""
	}
	return path
}
