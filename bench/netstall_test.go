package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"nucleus.dev/nucleus/internal/testutil"
	sandboxnetns "nucleus.dev/nucleus/sandbox/netns"
)

// TestStallReport: a stalled throughput sample leaves a file with each
// namespace's view (a command that is missing or fails says so there).
func TestStallReport(t *testing.T) {
	testutil.RequireRoot(t, "network namespaces")
	dir := t.TempDir()
	n := &netEnv{daemonNS: filepath.Join(dir, "daemon-ns"), inetNS: filepath.Join(dir, "internet-ns")}
	for _, p := range []string{n.daemonNS, n.inetNS} {
		if err := sandboxnetns.Create(p); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = sandboxnetns.Remove(p) }()
	}
	path := n.stallReport()
	if path == "" {
		t.Fatal("no report written")
	}
	defer os.Remove(path)
	if fi, err := os.Lstat(path); err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
		t.Fatalf("report %s: %v, %v; want a regular file, 0600", path, fi.Mode(), err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## nft list ruleset in daemon-ns", "## cat /proc/net/stat/nf_conntrack in daemon-ns", "## ss -tinm in internet-ns", "## cat /proc/net/snmp in internet-ns"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("report lacks %q:\n%s", want, data)
		}
	}
	if !strings.Contains(string(data), "Tcp:") {
		t.Errorf("the internet namespace's TCP counters are missing:\n%s", data)
	}
}
