// The nucleus-supervisor command is the per-container supervisor that
// nucleusd starts next to each sandbox: it runs runsc, holds the
// container's stdio, writes its log and records its exit status, and it
// outlives nucleusd. It is a separate executable so that every container
// start pays only for the supervisor's own packages, not for the daemon's
// gRPC, protobuf, TOML and CLI initialisation (about 13 ms of CPU instead
// of 29 ms on the machine the benchmarks ran on). nucleusd finds it next to
// its own executable; operators never run it by hand.
package main

import (
	"os"

	"nucleus.dev/nucleus/sandbox/supervisor"
)

func main() {
	os.Exit(supervisor.Main(os.Args[1:]))
}
