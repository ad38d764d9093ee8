// Command nucleus-fs is the file helper nucleusd runs inside sandboxes
// (read-only at /.nucleus/nucleus-fs) to serve the Files API; see
// fsapi/guest. It is not meant to be run by hand.
package main

import (
	"os"

	"nucleus.dev/nucleus/fsapi/guest"
)

func main() {
	os.Exit(guest.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
