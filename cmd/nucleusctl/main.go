// The nucleusctl command is the command line for nucleusd: docker-style
// commands (run, ps, logs, exec, ...) over the Nucleus gRPC API.
package main

import (
	"context"
	"os"

	"nucleus.dev/nucleus/cmd/nucleusctl/app"
)

func main() {
	os.Exit(app.Run(context.Background(), os.Args))
}
