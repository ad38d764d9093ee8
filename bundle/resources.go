package bundle

import (
	"math"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"nucleus.dev/nucleus/internal/errdefs"
)

// cpuPeriod is the CFS period used for fractional CPUs, in microseconds.
const cpuPeriod = 100000

// nofile is the RLIMIT_NOFILE of every sandbox.
const nofile = 1024

func checkResources(req *Request, pol *Policy) error {
	r := req.Resources
	switch {
	case r.MemoryBytes < 0:
		return errdefs.InvalidArgument("memory limit %d is negative; use 0 for no limit", r.MemoryBytes)
	case r.MemoryBytes > 0 && r.MemoryBytes < MinMemoryBytes:
		return errdefs.InvalidArgument("memory limit %d bytes is below the %d bytes a sandbox (sentry and gofer included) needs", r.MemoryBytes, MinMemoryBytes)
	case pol.MaxMemoryBytes > 0 && r.MemoryBytes > pol.MaxMemoryBytes:
		return errdefs.InvalidArgument("memory limit %d bytes is not allowed; use 0 for the policy's %d or a limit from %d to %d bytes", r.MemoryBytes, pol.MaxMemoryBytes, MinMemoryBytes, pol.MaxMemoryBytes)
	}
	if math.IsNaN(r.CPUs) || math.IsInf(r.CPUs, 0) || r.CPUs < 0 || (r.CPUs > 0 && r.CPUs < MinCPUs) || r.CPUs > pol.MaxCPUs {
		return errdefs.InvalidArgument("cpus %v is not allowed; use 0 for no limit or a value from %v to %v", r.CPUs, MinCPUs, pol.MaxCPUs)
	}
	if r.Pids < 0 || r.Pids > pol.MaxPids {
		return errdefs.InvalidArgument("pids %d is not allowed; use 0 for no limit or a value from 1 to %d", r.Pids, pol.MaxPids)
	}
	if r.MemlockBytes < 0 || r.MemlockBytes > pol.MaxMemlockBytes {
		return errdefs.InvalidArgument("memlock %d bytes is not allowed; use 0 for the default %d or a value up to %d", r.MemlockBytes, DefaultMemlockBytes, pol.MaxMemlockBytes)
	}
	if pol.HostPidsLimit > 0 && pol.HostPidsLimit < MinHostPidsLimit {
		return errdefs.FailedPrecondition("policy host pids limit %d is below the floor of %d host threads a sandbox needs", pol.HostPidsLimit, MinHostPidsLimit)
	}
	return nil
}

// specResources maps the request onto the host cgroup: memory and CPU from
// the request, pids from the policy (it counts sentry and gofer threads).
func specResources(r Resources, pol *Policy) *specs.LinuxResources {
	out := &specs.LinuxResources{}
	if r.MemoryBytes > 0 {
		limit := r.MemoryBytes
		out.Memory = &specs.LinuxMemory{Limit: &limit}
	}
	if r.CPUs > 0 {
		quota := int64(math.Round(r.CPUs * cpuPeriod))
		period := uint64(cpuPeriod)
		out.CPU = &specs.LinuxCPU{Quota: &quota, Period: &period}
	}
	if pol.HostPidsLimit > 0 {
		out.Pids = &specs.LinuxPids{Limit: pol.HostPidsLimit}
	}
	return out
}

// rlimits are enforced by the sentry inside the sandbox: NOFILE 1024, NPROC
// from the request's pids (gVisor enforces it for processes without
// CAP_SYS_ADMIN/CAP_SYS_RESOURCE, i.e. all of ours), MEMLOCK.
func rlimits(r Resources) []specs.POSIXRlimit {
	out := []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: nofile, Soft: nofile}}
	if r.Pids > 0 {
		out = append(out, specs.POSIXRlimit{Type: "RLIMIT_NPROC", Hard: uint64(r.Pids), Soft: uint64(r.Pids)})
	}
	memlock := uint64(DefaultMemlockBytes)
	if r.MemlockBytes > 0 {
		memlock = uint64(r.MemlockBytes)
	}
	return append(out, specs.POSIXRlimit{Type: "RLIMIT_MEMLOCK", Hard: memlock, Soft: memlock})
}
