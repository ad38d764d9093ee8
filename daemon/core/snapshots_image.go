package core

import (
	"context"
	"errors"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/bundle"
	"nucleus.dev/nucleus/daemon/auth"
	"nucleus.dev/nucleus/internal/errdefs"
)

// pinnedImage is applyImage for a restore: the snapshot's recorded spec is
// already effective (the image config applied, the image pinned to
// ref@digest, the user resolved, the disk size fixed), so nothing is
// applied again (the disk ceiling is checked again); only the image's tree is looked up by digest, never
// pulled, so the fork gets the same read-only root and the same rootfs
// overlay size as its source, as gVisor's restore requires.
func (d *Daemon) pinnedImage(ctx context.Context, caller auth.Identity, spec *nucleusv1.ContainerSpec) (*nucleusv1.ContainerSpec, *bundle.ImageRoot, error) {
	if spec.GetImage() == "" {
		return spec, nil, nil
	}
	if d.images == nil {
		return nil, nil, errdefs.FailedPrecondition("the snapshot's container ran from image %s, and this nucleusd has no image store", spec.GetImage())
	}
	digest, _ := splitImageRef(spec.GetImage())
	if digest == "" {
		return nil, nil, errdefs.FailedPrecondition("the snapshot's image %q is not pinned to a digest", spec.GetImage())
	}
	img, err := d.images.Resolve(ctx, caller, digest, nucleusv1.PullPolicy_PULL_POLICY_NEVER)
	if errors.Is(err, errdefs.ErrNotFound) {
		return nil, nil, errdefs.FailedPrecondition("the snapshot's image %s is no longer on this host; pull that exact digest again to restore it", spec.GetImage())
	}
	if err != nil {
		return nil, nil, err
	}
	disk := spec.GetResources().GetDiskBytes()
	if disk == 0 { // a snapshot made before the size was pinned in the spec
		disk = int64(d.cfg.Defaults.Disk)
	}
	if !d.exempt(caller) { // as every recorded limit, checked again
		if err := d.ceil.CheckDisk(disk); err != nil {
			return nil, nil, err
		}
	}
	return spec, &bundle.ImageRoot{Dir: img.RootFS, DiskBytes: disk}, nil
}

// snapshotImageUsage adds to out the images that snapshots' recorded specs
// pin. A snapshot whose spec cannot be decoded is skipped: Restore refuses
// it anyway (decodeSnapshotSpec), so it needs no image.
func (d *Daemon) snapshotImageUsage(out map[string]ImageUse) error {
	recs, err := d.store.ListSnapshots()
	if err != nil {
		return err
	}
	for _, r := range recs {
		spec, err := decodeSnapshotSpec(r)
		if err != nil || spec.GetImage() == "" {
			continue
		}
		digest, _ := splitImageRef(spec.GetImage())
		u := out[digest]
		u.Snapshots++
		u.addOwner(r.OwnerUID)
		out[digest] = u
	}
	return nil
}
