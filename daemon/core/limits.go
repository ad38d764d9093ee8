package core

import (
	"fmt"
	"math"
	"time"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/bundle"
	"nucleus.dev/nucleus/daemon/auth"
	"nucleus.dev/nucleus/internal/errdefs"
)

// exempt reports whether caller is spared the per-container ceilings:
// only root on the unix socket, and only with [limits] exempt_root.
func (d *Daemon) exempt(caller auth.Identity) bool {
	return d.cfg.Limits.ExemptRoot && caller.Admin && caller.CertSubject == ""
}

// checkCeilings refuses a create whose resolved resources, tmpfs volumes
// or timeout (0: none) exceed the operator's ceilings.
func (d *Daemon) checkCeilings(caller auth.Identity, req *bundle.Request, timeout time.Duration) error {
	if d.exempt(caller) {
		return nil
	}
	r := req.Resources
	if err := d.ceil.CheckMemory(r.MemoryBytes); err != nil {
		return err
	}
	if err := d.ceil.CheckCPUs(r.CPUs); err != nil {
		return err
	}
	if err := d.ceil.CheckPids(r.Pids); err != nil {
		return err
	}
	for i, v := range req.Volumes {
		if v.Type != bundle.VolumeTmpfs {
			continue
		}
		if err := d.ceil.CheckTmpfs(fmt.Sprintf("volumes[%d] (tmpfs %s)", i, v.Destination), v.SizeBytes); err != nil {
			return err
		}
	}
	return d.ceil.CheckTimeout(timeout)
}

// checkUpdate validates an Update's resources against the floors and the
// ceilings before anything is written to the host cgroup.
func (d *Daemon) checkUpdate(caller auth.Identity, r *nucleusv1.Resources) error {
	mem, cpus := r.GetMemoryBytes(), r.GetCpus()
	switch {
	case r.GetDiskBytes() != 0:
		return errdefs.InvalidArgument("resources.disk_bytes is fixed at create: it must be zero in Update")
	case mem < 0 || cpus < 0:
		return errdefs.InvalidArgument("memory_bytes and cpus must not be negative")
	case math.IsNaN(cpus) || math.IsInf(cpus, 0):
		return errdefs.InvalidArgument("cpus %v is not a number of CPUs", cpus)
	case mem > 0 && mem < bundle.MinMemoryBytes:
		return errdefs.InvalidArgument("memory_bytes %d is below the %d bytes a sandbox needs", mem, bundle.MinMemoryBytes)
	case cpus > 0 && cpus < bundle.MinCPUs:
		return errdefs.InvalidArgument("cpus %v is below the smallest share, %v", cpus, bundle.MinCPUs)
	}
	if d.exempt(caller) {
		return nil
	}
	if mem > 0 {
		if err := d.ceil.CheckMemory(mem); err != nil {
			return err
		}
	}
	if cpus > 0 {
		return d.ceil.CheckCPUs(cpus)
	}
	return nil
}

// policyCeilings are the caps handed to the bundle package, which checks
// them again as its own floor: the ceilings, or for an exempt caller
// only what the host can honour.
func (d *Daemon) policyCeilings(caller auth.Identity, pol *bundle.Policy) {
	if d.exempt(caller) {
		pol.MaxTmpfsVolumeBytes = math.MaxInt64
		return
	}
	pol.MaxMemoryBytes = int64(d.ceil.Memory)
	pol.MaxCPUs = d.ceil.CPUs
	pol.MaxPids = d.ceil.Pids
	pol.MaxTmpfsVolumeBytes = int64(d.ceil.TmpSize)
}
