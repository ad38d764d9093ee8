// Command containerd-shim-nucleus-v2 is containerd's runtime shim for
// Nucleus (runtime type io.containerd.nucleus.v2): containerd's tasks run as
// nucleusd containers. See package containerdshim.
package main

import (
	"os"

	"nucleus.dev/nucleus/containerdshim"
)

func main() {
	os.Exit(containerdshim.Main(os.Args[1:], os.Stdout, os.Stderr))
}
