package nettest

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// envInside marks the re-executed test binary.
const envInside = "NUCLEUS_NETTEST_INSIDE"

// Inside reports whether this process is the re-executed one running in
// its own network namespace.
func Inside() bool { return os.Getenv(envInside) == "1" }

// Main runs the tests. As root it re-executes the test binary in a new
// network and mount namespace (loopback up, mounts private) and exits with
// its status; otherwise it runs them here, where the root tests skip (or
// fail under CI) through testutil.RequireRoot.
func Main(m *testing.M) {
	if os.Geteuid() != 0 {
		os.Exit(m.Run())
	}
	if !Inside() {
		cmd := exec.Command("/proc/self/exe", os.Args[1:]...)
		cmd.Env = append(os.Environ(), envInside+"=1")
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
