package app

import (
	"testing"

	"nucleus.dev/nucleus/client/clienttest"
)

// TestRunNetworkNamespaceFlag: --network ns:PATH (podman's spelling) sets
// spec.network_namespace and leaves spec.network empty; an empty path or
// egress flags with it are refused before any call.
func TestRunNetworkNamespaceFlag(t *testing.T) {
	f := &clienttest.Fake{RunFunc: clienttest.RunScript{}.Serve}
	cli(t, f, "run", "-d", "--network", "ns:/run/netns/pod", "/bin/sh").wantCode(t, 0)
	s := runStarts(f)
	if len(s) != 1 || s[0].GetSpec().GetNetworkNamespace() != "/run/netns/pod" || s[0].GetSpec().GetNetwork() != "" {
		t.Fatalf("--network ns:/run/netns/pod: %v, want network_namespace set and network empty", s)
	}
	for _, args := range [][]string{
		{"run", "--network", "ns:", "sh"},
		{"run", "--network", "ns:/run/netns/pod", "--allow-domain", "a.org", "sh"},
		{"run", "--network", "ns:/run/netns/pod", "-p", "80:80", "sh"},
	} {
		f := &clienttest.Fake{RunFunc: clienttest.RunScript{}.Serve}
		if r := cli(t, f, args...); r.code == 0 || len(runStarts(f)) != 0 {
			t.Errorf("%v: exit %d, want a refusal before any call", args, r.code)
		}
	}
}
