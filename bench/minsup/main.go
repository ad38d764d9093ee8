// The minsup command is sandbox/supervisor's Main alone: the benchmark
// builds it to measure what a dedicated supervisor executable would cost to
// start, against re-executing the whole nucleusd (gRPC, protobuf, TOML and
// cobra initialise before main runs).
package main

import (
	"os"

	"nucleus.dev/nucleus/sandbox/supervisor"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "supervise" {
		os.Exit(supervisor.Main(os.Args[2:]))
	}
	os.Exit(2)
}
