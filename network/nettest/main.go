package nettest

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// envInside marks the re-executed test binary.
const envInside = "NUCLEUS_NETTEST_INSIDE"

// Inside reports whether this process is the re-executed one running in
// its own network and mount namespaces: the variable names the parent's
// namespaces, and ours must differ from them (a variable set by hand in
// the host's namespaces does not count).
func Inside() bool {
	parentNet, parentMnt, ok := strings.Cut(os.Getenv(envInside), "/")
	ourNet, ourMnt, _ := strings.Cut(namespaces(), "/")
	return ok && parentNet != "" && parentMnt != "" && ourNet != "?" && ourMnt != "?" &&
		parentNet != ourNet && parentMnt != ourMnt
}

// namespaces identifies this process's network and mount namespaces.
func namespaces() string {
	id := func(kind string) string {
		var st unix.Stat_t
		if err := unix.Stat("/proc/self/ns/"+kind, &st); err != nil {
			return "?"
		}
		return fmt.Sprint(st.Ino)
	}
	return id("net") + "/" + id("mnt")
}

// Main runs the tests. As root it re-executes the test binary in a new
// network and mount namespace (loopback up, mounts private) and exits with
// its status; otherwise it runs them here, where the root tests skip (or
// fail under CI) through testutil.RequireRoot.
func Main(m *testing.M) {
	if os.Geteuid() != 0 {
		os.Exit(m.Run())
	}
	if !Inside() {
		if os.Getenv(envInside) != "" {
			fmt.Fprintln(os.Stderr, "nettest: "+envInside+" is set but this process shares its parent's namespaces; refusing to touch them")
			os.Exit(2)
		}
		cmd := exec.Command("/proc/self/exe", os.Args[1:]...)
		cmd.Env = append(os.Environ(), envInside+"="+namespaces())
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWNET | unix.CLONE_NEWNS, Pdeathsig: unix.SIGKILL}
		if err := cmd.Run(); err != nil {
			if ee, ok := err.(*exec.ExitError); ok {
				os.Exit(ee.ExitCode())
			}
			fmt.Fprintln(os.Stderr, "nettest: re-executing in a new network namespace:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		fmt.Fprintln(os.Stderr, "nettest: making mounts private:", err)
		os.Exit(2)
	}
	if err := loopbackUp(); err != nil {
		fmt.Fprintln(os.Stderr, "nettest:", err)
		os.Exit(2)
	}
	os.Exit(m.Run())
}

func loopbackUp() error {
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("loopback: %w", err)
	}
	return netlink.LinkSetUp(lo)
}
