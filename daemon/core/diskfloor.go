package core

import (
	"fmt"

	"golang.org/x/sys/unix"

	"nucleus.dev/nucleus/daemon/config"
	"nucleus.dev/nucleus/internal/errdefs"
)

// checkDiskFloor refuses a new container while the file system of the
// daemon's root has less than [limits] min_free_disk available: what is
// left is kept for the records and exit statuses of the containers that
// already exist (an exit that cannot be recorded blocks Wait until it can).
func (d *Daemon) checkDiskFloor() error {
	floor := d.cfg.Limits.MinFreeDisk
	if floor <= 0 {
		return nil
	}
	var st unix.Statfs_t
	if err := unix.Statfs(d.rootDir, &st); err != nil {
		return fmt.Errorf("free space of %s: %w", d.rootDir, err)
	}
	if free := config.ByteSize(st.Bavail) * config.ByteSize(st.Bsize); free < floor {
		return errdefs.ResourceExhausted("the daemon's disk (%s) has %s free, below [limits] min_free_disk = %s, kept for the records of existing containers: remove containers or free space", d.rootDir, free, floor)
	}
	return nil
}
