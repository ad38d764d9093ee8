package sandbox

import "nucleus.dev/nucleus/sandbox/internal/cgroup"

// SetParentCPUShares gives the cgroup parent of the containers' cgroups
// (bundle's CgroupParent, e.g. "nucleus") the CPU weight shares, creating
// it first, so that all containers together weigh that much against the
// rest of the host, nucleusd among it, when the CPUs are busy. It returns
// the cgroup file written.
func SetParentCPUShares(parent string, shares uint64) (string, error) {
	return cgroup.SetCPUShares("/"+parent, shares)
}
