package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/network/nettest"
)

// hostHTTPPort is where a server in the daemon's namespace (the "host")
// answers on every address.
const hostHTTPPort = 8081

// serveHost starts an HTTP server on every address of the daemon's
// namespace, so that "the host is unreachable" is a dropped connection to
// a listening server, not a refused one.
func (e *netEnv) serveHost(t *testing.T) {
	t.Helper()
	var ln net.Listener
	err := nettest.InNetns(e.daemonNS, func() (err error) {
		ln, err = net.Listen("tcp4", fmt.Sprintf("0.0.0.0:%d", hostHTTPPort))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "the host")
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
}

// TestE2ENetworkIsolationAndPorts: the daemon's own addresses (bridge and
// uplink) and another container's address are unreachable from a
// container, even with a listening server; a published port answers on
// 127.0.0.1 of the daemon's namespace and on no other address, and goes
// with the container; ps and inspect show the address and the port;
// `--egress none` gives a container no interface but lo.
func TestE2ENetworkIsolationAndPorts(t *testing.T) {
	e := newNetEnv(t, "")
	e.serveHost(t)
	// The daemon's namespace reaches its own server: the drops below are
	// the policy's.
	if body, err := nettest.HTTPGet(e.daemonNS, netip.AddrPortFrom(nettest.UplinkDaemon, hostHTTPPort), 3*time.Second); err != nil || !strings.Contains(body, "the host") {
		t.Fatalf("host server from its own namespace: %q, %v", body, err)
	}
	web := &nucleusv1.ContainerSpec{
		Name: "web", Network: "egress",
		Args:           []string{"/bin/busybox", "sh", "-c", "mkdir -p /tmp/w && echo web-answer > /tmp/w/index.html && exec busybox httpd -f -p 8080 -h /tmp/w"},
		Egress:         &nucleusv1.EgressPolicy{Mode: nucleusv1.EgressMode_EGRESS_MODE_ALL},
		PublishedPorts: []*nucleusv1.PublishedPort{{HostPort: 18080, ContainerPort: 8080}},
	}
	w := e.run(t, web)
	client := e.run(t, egressSpec("client", &nucleusv1.EgressPolicy{Mode: nucleusv1.EgressMode_EGRESS_MODE_ALL}))
	// Mode all still reaches the internet but not the always-denied.
	e.wantGet(t, client.GetId(), nettest.AllowedHost.String(), "host "+nettest.AllowedHost.String())
	e.wantNoGet(t, client.GetId(), fmt.Sprintf("%s:%d", nettest.UplinkDaemon, hostHTTPPort))
	e.wantNoGet(t, client.GetId(), fmt.Sprintf("%s:%d", netGateway, hostHTTPPort))
	e.wantNoGet(t, client.GetId(), w.GetIpAddress()+":8080")
	e.wantNoGet(t, client.GetId(), nettest.MetadataHost.String())
	e.wantNoGet(t, client.GetId(), nettest.PrivateHost.String())
	// The web container itself serves (its own address, inside).
	e.wantGet(t, w.GetId(), "127.0.0.1:8080", "web-answer")

	loopback := netip.MustParseAddrPort("127.0.0.1:18080")
	var body string
	var err error
	for i := 0; i < 50; i++ { // the server may still be starting
		if body, err = nettest.HTTPGet(e.daemonNS, loopback, 3*time.Second); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil || !strings.Contains(body, "web-answer") {
		t.Errorf("published port on 127.0.0.1: %q, %v; want the web container's answer", body, err)
	}
	for _, other := range []netip.Addr{nettest.UplinkDaemon, netip.MustParseAddr(netGateway)} {
		if b, err := nettest.HTTPGet(e.daemonNS, netip.AddrPortFrom(other, 18080), 3*time.Second); err == nil {
			t.Errorf("published port answered on %s: %q; want 127.0.0.1 only", other, b)
		}
	}
	ps, _, code := e.d.CtlRun("", "ps")
	if code != 0 || !strings.Contains(ps, "PORTS") || !strings.Contains(ps, "127.0.0.1:18080->8080/tcp") {
		t.Errorf("ps (exit %d) =\n%s\nwant the published port", code, ps)
	}
	insp, _, _ := e.d.CtlRun("", "inspect", "web")
	if !strings.Contains(insp, w.GetIpAddress()) || !strings.Contains(insp, "18080") {
		t.Errorf("inspect web lacks the address %s or the port:\n%s", w.GetIpAddress(), insp)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := e.c.Delete(ctx, w.GetId(), true); err != nil {
		t.Fatal(err)
	}
	if _, err := nettest.Dial(e.daemonNS, loopback, 2*time.Second); err == nil {
		t.Errorf("published port still answers after the container was deleted")
	}

	out, stderr, code := e.d.CtlRun("", "run", "--rm", "--egress", "none", "/bin/busybox", "ip", "-o", "link")
	if code != 0 || !strings.Contains(out, "lo") || strings.Count(strings.TrimSpace(out), "\n") != 0 {
		t.Errorf("run --egress none ip -o link: exit %d %q %q; want lo alone", code, out, stderr)
	}
}
