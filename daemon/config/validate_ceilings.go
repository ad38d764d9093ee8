package config

import (
	"math"
	"time"
)

// validateCeilings checks the per-container ceilings and that every
// [defaults] value fits inside them on host h.
func (l *LimitsConfig) validateCeilings(p *problems, d *DefaultsConfig, h Host) {
	if l.MaxMemory < 0 || (l.MaxMemory > 0 && l.MaxMemory < 16*MiB) {
		p.add("limits.max_memory", "%s is too small; 0 (the host's memory) or at least 16m", l.MaxMemory)
	}
	if l.MaxCPUs < 0 || math.IsNaN(l.MaxCPUs) || math.IsInf(l.MaxCPUs, 0) {
		p.add("limits.max_cpus", "%v is not 0 (the host's CPUs) or a positive number of CPUs", l.MaxCPUs)
	}
	if l.MaxPids < 1 {
		p.add("limits.max_pids", "%d must be positive", l.MaxPids)
	}
	if l.MaxTimeout < 0 {
		p.add("limits.max_timeout", "%s is negative", l.MaxTimeout)
	}
	if l.MaxTmpSize < 1 {
		p.add("limits.max_tmp_size", "must be positive")
	}
	if l.MaxShmSize < 1 {
		p.add("limits.max_shm_size", "must be positive")
	}
	if l.MaxDisk < 1 {
		p.add("limits.max_disk", "must be positive")
	}
	if l.MaxDisk > 0 && d.Disk > l.MaxDisk {
		p.add("defaults.disk", "%s exceeds limits.max_disk = %s", d.Disk, l.MaxDisk)
	}
	c := l.Ceilings(h)
	if c.Memory > 0 && d.Memory > c.Memory {
		p.add("defaults.memory", "%s exceeds limits.max_memory = %s%s", d.Memory, c.Memory.Human(), c.note(c.hostMemory, "memory"))
	}
	if c.CPUs > 0 && d.CPUs > c.CPUs {
		p.add("defaults.cpus", "%v exceeds limits.max_cpus = %v%s", d.CPUs, c.CPUs, c.note(c.hostCPUs, "CPUs"))
	}
	if d.CPUs == 0 && !c.hostCPUs && c.CPUs < float64(h.CPUs) {
		p.add("defaults.cpus", "0 (unlimited: all %d host CPUs) exceeds limits.max_cpus = %v; set defaults.cpus", h.CPUs, c.CPUs)
	}
	if l.MaxPids > 0 && d.Pids > l.MaxPids {
		p.add("defaults.pids", "%d exceeds limits.max_pids = %d", d.Pids, l.MaxPids)
	}
	if c.Timeout > 0 && (d.Timeout == 0 || d.Timeout.Std() > c.Timeout) {
		p.add("defaults.timeout", "%s (0s: none) exceeds limits.max_timeout = %s; set defaults.timeout", d.Timeout, time.Duration(c.Timeout))
	}
	if l.MaxTmpSize > 0 && d.TmpSize > l.MaxTmpSize {
		p.add("defaults.tmp_size", "%s exceeds limits.max_tmp_size = %s", d.TmpSize, l.MaxTmpSize)
	}
	if l.MaxShmSize > 0 && d.ShmSize > l.MaxShmSize {
		p.add("defaults.shm_size", "%s exceeds limits.max_shm_size = %s", d.ShmSize, l.MaxShmSize)
	}
}
