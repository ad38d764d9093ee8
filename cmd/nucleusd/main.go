// The nucleusd command is the Nucleus daemon: it serves the gRPC API on a
// unix socket and runs containers in gVisor sandboxes. Run it as root,
// normally under systemd (deploy/systemd/nucleusd.service).
package main

import (
	"os"

	"nucleus.dev/nucleus/cmd/nucleusd/app"
	"nucleus.dev/nucleus/sandbox/supervisor"
)

func main() {
	// The hidden supervisor mode comes first: a supervisor must not pay for
	// the daemon's start-up.
	if len(os.Args) > 1 && os.Args[1] == app.SuperviseCommand {
		os.Exit(supervisor.Main(os.Args[2:]))
	}
	os.Exit(app.Run(os.Args))
}
