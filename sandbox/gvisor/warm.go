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
	// The decoder learns a struct's fields only when it meets one: the
	// spec is filled in as far as a bundle's is.
	spec := &specs.Spec{
		Process: &specs.Process{User: specs.User{AdditionalGids: []uint32{0}}, Capabilities: &specs.LinuxCapabilities{Bounding: []string{""}},
			Rlimits: []specs.POSIXRlimit{{}}, ConsoleSize: &specs.Box{}},
		Root: &specs.Root{}, Mounts: []specs.Mount{{Options: []string{""}}},
		Hooks: &specs.Hooks{CreateRuntime: []specs.Hook{{Args: []string{""}}}},
		Linux: &specs.Linux{
			Resources: &specs.LinuxResources{Memory: &specs.LinuxMemory{}, CPU: &specs.LinuxCPU{}, Pids: &specs.LinuxPids{},
				Devices: []specs.LinuxDeviceCgroup{{}}},
			Namespaces: []specs.LinuxNamespace{{}}, UIDMappings: []specs.LinuxIDMapping{{}},
			Seccomp:     &specs.LinuxSeccomp{Syscalls: []specs.LinuxSyscall{{Args: []specs.LinuxSeccompArg{{}}}}},
			MaskedPaths: []string{""}, Sysctl: map[string]string{"": ""},
		},
		Annotations: map[string]string{"": ""},
	}
	for _, v := range []any{&container.Container{Spec: spec}, spec} {
		data, err := json.Marshal(v)
		if err != nil {
			continue
		}
		_ = json.Unmarshal(data, v)
	}
}
