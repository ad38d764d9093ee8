package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/network/nettest"
)

// TestE2ENetworkPolicyUpdate: `nucleusctl update --allow-domain` changes a
// running container's policy at once (the new name resolves and answers,
// the old one gets NXDOMAIN), audited in the daemon's log; stats count the
// container's bytes and the dropped packets; another uid can neither see
// nor update the container's policy, and cannot exceed the operator's
// ceilings, neither at create nor by an update of its own container.
func TestE2ENetworkPolicyUpdate(t *testing.T) {
	e := newNetEnv(t, `allowed_domains = ["allowed.test", "*.wild.test"]`)
	ctr := e.run(t, egressSpec("upd", allowlistPolicy([]string{"allowed.test"}, nil)))
	id := ctr.GetId()
	e.wantGet(t, id, "allowed.test", "host "+nettest.AllowedHost.String())
	if _, code := e.sh(t, id, "busybox nslookup denied.test"); code == 0 {
		t.Errorf("denied.test resolved before the update")
	}
	e.wantNoGet(t, id, nettest.DeniedHost.String()) // counted as dropped

	// Root may exceed the ceilings (root_exceeds_ceilings defaults to true).
	if out, errb, code := e.d.CtlRun("", "update", "--allow-domain", "denied.test", "upd"); code != 0 {
		t.Fatalf("nucleusctl update --allow-domain: exit %d %q %q", code, out, errb)
	}
	e.wantGet(t, id, "denied.test", "host "+nettest.DeniedHost.String())
	if out, code := e.sh(t, id, "busybox nslookup allowed.test"); code == 0 && strings.Contains(out, nettest.AllowedHost.String()) {
		t.Errorf("allowed.test still resolves after the update replaced the list: %q", out)
	}
	if log := e.d.Log(); !strings.Contains(log, "egress policy updated") || !strings.Contains(log, "denied.test") {
		t.Errorf("the daemon's log has no audit line for the update")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	got, err := e.c.Get(ctx, id)
	if err != nil || strings.Join(got.GetSpec().GetEgress().GetDomains(), ",") != "denied.test" {
		t.Errorf("the record's policy after the update: %v, %v", got.GetSpec().GetEgress(), err)
	}
	var ev *nucleusv1.Event
	since := uint64(0)
	ectx, ecancel := context.WithTimeout(ctx, 5*time.Second)
	_ = e.c.Events(ectx, &nucleusv1.EventsRequest{SinceSequence: &since, ContainerIds: []string{id},
		Types: []nucleusv1.EventType{nucleusv1.EventType_EVENT_TYPE_NETWORK_POLICY_UPDATED}},
		func(r *nucleusv1.EventsResponse) error {
			ev = r.GetEvent()
			ecancel() // one is enough
			return nil
		})
	ecancel()
	if ev.GetAttributes()["domains"] != "denied.test" || ev.GetAttributes()["mode"] != "allowlist" {
		t.Errorf("NETWORK_POLICY_UPDATED event = %v, want mode allowlist and domains denied.test", ev)
	}
	var st *nucleusv1.ContainerStats
	err = e.c.Stats(ctx, &nucleusv1.StatsRequest{Ids: []string{id}}, func(s []*nucleusv1.ContainerStats) error {
		if len(s) == 1 {
			st = s[0]
		}
		return nil
	})
	if err != nil || st.GetNetworkRxBytes() == 0 || st.GetNetworkTxBytes() == 0 || st.GetEgressDroppedPackets() == 0 {
		t.Errorf("stats = %v, %v; want rx, tx and dropped counted", st, err)
	}

	// Another uid: root's container is invisible to it.
	const uid = 4242
	r := asUser(t, e.d.Socket, uid, uid, []uint32{0},
		childCall{Op: "update-network", ID: id, Egress: &nucleusv1.EgressPolicy{Mode: nucleusv1.EgressMode_EGRESS_MODE_ALL}},
		childCall{Op: "create", Spec: egressSpec("mine-all", &nucleusv1.EgressPolicy{Mode: nucleusv1.EgressMode_EGRESS_MODE_ALL})},
		childCall{Op: "create", Spec: egressSpec("mine-evil", allowlistPolicy([]string{"denied.test"}, nil))},
		childCall{Op: "create", Spec: egressSpec("mine-cidr", allowlistPolicy(nil, []string{nettest.CIDRHost.String()}))},
		childCall{Op: "create", Spec: egressSpec("mine", allowlistPolicy([]string{"api.wild.test"}, nil))},
	)
	for i, want := range []string{"NotFound", "PermissionDenied", "PermissionDenied", "PermissionDenied", ""} {
		if r[i].Kind != want {
			t.Errorf("uid %d call %d: kind %q (%s), want %q", uid, i, r[i].Kind, r[i].Error, want)
		}
	}
	mine := r[4].ID
	r = asUser(t, e.d.Socket, uid, uid, []uint32{0},
		childCall{Op: "start", ID: mine},
		childCall{Op: "update-network", ID: mine, Egress: allowlistPolicy([]string{"denied.test"}, nil)},
		childCall{Op: "update-network", ID: mine, Egress: allowlistPolicy([]string{"allowed.test"}, nil)},
	)
	for i, want := range []string{"", "PermissionDenied", ""} {
		if r[i].Kind != want {
			t.Errorf("uid %d own container, call %d: kind %q (%s), want %q", uid, i, r[i].Kind, r[i].Error, want)
		}
	}
	if got, err := e.c.Get(ctx, id); err != nil || got.GetSpec().GetEgress().GetDomains()[0] != "denied.test" {
		t.Errorf("root's container changed by another uid's calls: %v, %v", got.GetSpec().GetEgress(), err)
	}
}

// TestE2ENetworkWorkloadCannotLoosen: root inside the sandbox adds an
// address (another container's would-be one), replaces its routes, tries
// to rewrite /etc/resolv.conf (read-only) and to flush its own iptables,
// asks the upstream resolver directly and sends from the spoofed address:
// it still reaches nothing its policy did not allow.
func TestE2ENetworkWorkloadCannotLoosen(t *testing.T) {
	e := newNetEnv(t, "")
	ctr := e.run(t, egressSpec("hostile", allowlistPolicy([]string{"allowed.test"}, nil)))
	id := ctr.GetId()
	e.wantGet(t, id, "allowed.test", "host "+nettest.AllowedHost.String())
	if out, code := e.sh(t, id, "echo nameserver "+nettest.DNSServer.String()+" > /etc/resolv.conf"); code == 0 {
		t.Errorf("root rewrote /etc/resolv.conf (%q); want it read-only", out)
	}
	script := strings.Join([]string{
		"busybox ip addr add 10.213.0.250/24 dev eth0",
		"busybox ip route replace default via 10.213.0.1 dev eth0 src 10.213.0.250",
		"busybox ip route add 192.0.2.0/24 dev eth0",
		"busybox ip route add 169.254.0.0/16 dev eth0",
		"iptables -P OUTPUT ACCEPT; iptables -F",
		"busybox ip -o addr; busybox ip route",
	}, "; ")
	out, _ := e.sh(t, id, script)
	t.Logf("inside after the changes:\n%s", out)
	if out, code := e.sh(t, id, "busybox nslookup denied.test "+nettest.DNSServer.String()); code == 0 && strings.Contains(out, nettest.DeniedHost.String()) {
		t.Errorf("the upstream resolver answered directly: %q", out)
	}
	if out, code := e.sh(t, id, "busybox nslookup denied.test"); code == 0 && strings.Contains(out, nettest.DeniedHost.String()) {
		t.Errorf("denied.test resolved: %q", out)
	}
	e.wantNoGet(t, id, nettest.DeniedHost.String())
	e.wantNoGet(t, id, nettest.MetadataHost.String())
	e.wantNoGet(t, id, nettest.PrivateHost.String())
	e.wantNoGet(t, id, nettest.NeighbourHost.String())
	if out, code := e.sh(t, id, "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 3 -s 10.213.0.250 "+nettest.AllowedHost.String()+" 80"); code == 0 && strings.Contains(out, "HTTP/1.") {
		t.Errorf("a spoofed source address reached even an allowed host: %q", out)
	}
}
