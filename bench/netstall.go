package main

import (
	"context"
	"errors"
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
	// A name of its own, created exclusively: the bench runs as root, and a
	// predictable name in a shared temporary directory could be a link
	// planted by another user.
	f, err := os.CreateTemp("", "nucleus-bench-net-stall-*.txt")
	if err != nil {
		return ""
	}
	_, werr := f.WriteString(b.String())
	if err := errors.Join(werr, f.Close()); err != nil {
		_ = os.Remove(f.Name())
		return ""
	}
	return f.Name()
}
