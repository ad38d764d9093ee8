package gvisor

import (
	"encoding/json"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"gvisor.dev/gvisor/runsc/container"
)

// Warm builds, ahead of need, what a process's first create would build on
// the way: encoding/json's encoders and field tables for runsc's container
// state (saved at every step of a create, with the spec and runsc's config
// inside) and for the OCI spec (read from the bundle). They are built once
// per process and took about 6 ms of a supervisor's create on a 2-core VM;
// a spare supervisor calls Warm while it waits for its container.
func Warm() {
	for _, v := range []any{&container.Container{}, &specs.Spec{}} {
		data, err := json.Marshal(v)
		if err != nil {
			continue
		}
		_ = json.Unmarshal(data, v)
	}
}
