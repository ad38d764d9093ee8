// The nucleusctl command is the command line for nucleusd: docker-style
// commands (run, ps, logs, exec, ...) over the Nucleus gRPC API.
package main

import (
	"context"
	"os"
	"runtime"

	"nucleus.dev/nucleus/cmd/nucleusctl/app"
)

func main() {
	// One P: the CLI waits on the daemon and copies streams; a second P
	// only adds an idle thread spinning for work at each wake-up (a tenth
	// of its CPU per run). GOMAXPROCS in the environment still decides.
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
	os.Exit(app.Run(context.Background(), os.Args))
}
