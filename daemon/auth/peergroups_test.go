package auth

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"

	"nucleus.dev/nucleus/internal/testutil"
)

// dialEnv makes this test binary, started as a child, connect to the unix
// socket it names, write one byte and exit (see TestMain).
const dialEnv = "NUCLEUS_AUTH_TEST_DIAL"

func TestMain(m *testing.M) {
	if sock := os.Getenv(dialEnv); sock != "" {
		c, err := net.Dial("unix", sock)
		if err != nil {
			os.Exit(2)
		}
		_, _ = c.Write([]byte{1})
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestPeerGroupsFromTheKernel starts a child with supplementary groups of
// its own — more than peerGroups' first buffer holds, so the ERANGE retry
// runs — lets it connect and exit, and only then handshakes: the groups
// come from the socket as the kernel recorded them at connect time, not
// from /proc/<pid>/status, which is gone by then (and could belong to
// another process that reused the pid).
func TestPeerGroupsFromTheKernel(t *testing.T) {
	testutil.RequireRoot(t, "to set a child's groups")
	sock := filepath.Join(t.TempDir(), "s")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var want []uint32
	for g := uint32(70000); g < 70040; g++ {
		want = append(want, g)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), dialEnv+"="+sock)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 0, Gid: 4321, Groups: want}}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if _, err := os.Stat("/proc/" + strconv.Itoa(cmd.Process.Pid)); err == nil {
		t.Fatalf("child %d still exists after Wait", cmd.Process.Pid)
	}
	conn, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, info, err := PeerCredentials{}.ServerHandshake(conn)
	if err != nil {
		t.Fatal(err)
	}
	id := info.(AuthInfo).Identity
	got := make([]uint32, 0, len(id.Groups))
	for _, g := range id.Groups {
		got = append(got, uint32(g))
	}
	slices.Sort(got)
	if id.GID != 4321 || !slices.Equal(got, want) {
		t.Fatalf("identity gid=%d groups=%v, want gid 4321 and groups %v", id.GID, got, want)
	}
	p := Policy{SocketGID: 70039}
	id.UID = 1000 // as an unprivileged caller: the last supplementary group admits it
	if _, err := p.Authenticate(ctxWith(id)); err != nil {
		t.Fatalf("member of the socket group through SO_PEERGROUPS refused: %v", err)
	}
}
