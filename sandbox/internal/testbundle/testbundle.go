// Package testbundle writes minimal OCI bundles for the sandbox package's
// e2e tests: an empty read-only rootfs with the host's /bin, /sbin, /usr,
// /lib and /lib64 bind-mounted read-only, so /bin/sh and coreutils run
// without an image.
package testbundle

import (
	"encoding/json"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Options shape the bundle.
type Options struct {
	// Args is the process argv.
	Args []string
	// Env is added to PATH.
	Env []string
	// MemoryLimit is linux.resources.memory.limit in bytes; 0 for none.
	MemoryLimit int64
	// PidsLimit is linux.resources.pids.limit; 0 for none.
	PidsLimit int64
	// CgroupsPath is linux.cgroupsPath.
	CgroupsPath string
	// Binds are extra read-only bind mounts, destination -> host source.
	Binds map[string]string
	// Tmp adds a tmpfs at /tmp.
	Tmp bool
}

// Write creates dir/config.json and dir/rootfs.
func Write(dir string, o Options) error {
	rootfs := filepath.Join(dir, "rootfs")
	if err := os.MkdirAll(rootfs, 0o755); err != nil {
		return err
	}
	mounts := []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc"},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "mode=755"}},
	}
	for _, d := range []string{"/bin", "/sbin", "/usr", "/lib", "/lib64"} {
		if _, err := os.Stat(d); err == nil {
			mounts = append(mounts, specs.Mount{Destination: d, Type: "bind", Source: d, Options: []string{"rbind", "ro"}})
		}
	}
	for dst, src := range o.Binds {
		mounts = append(mounts, specs.Mount{Destination: dst, Type: "bind", Source: src, Options: []string{"rbind", "ro"}})
	}
	if o.Tmp {
		mounts = append(mounts, specs.Mount{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev"}})
	}
	res := &specs.LinuxResources{}
	if o.MemoryLimit > 0 {
		res.Memory = &specs.LinuxMemory{Limit: &o.MemoryLimit}
	}
	if o.PidsLimit > 0 {
		res.Pids = &specs.LinuxPids{Limit: o.PidsLimit}
	}
	spec := specs.Spec{
		Version: specs.Version,
		Process: &specs.Process{
			Args: o.Args,
			Env:  append([]string{"PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"}, o.Env...),
			Cwd:  "/",
			User: specs.User{UID: 0, GID: 0},
		},
		Root:     &specs.Root{Path: "rootfs", Readonly: true},
		Hostname: "nucleus-test",
		Mounts:   mounts,
		Linux: &specs.Linux{
			CgroupsPath: o.CgroupsPath,
			Resources:   res,
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace}, {Type: specs.MountNamespace}, {Type: specs.IPCNamespace},
				{Type: specs.UTSNamespace}, {Type: specs.NetworkNamespace},
			},
		},
	}
	data, err := json.MarshalIndent(&spec, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "config.json"), data, 0o600)
}
