package bundle

import (
	"os"
	"path/filepath"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"nucleus.dev/nucleus/internal/errdefs"
)

// ImageRoot is the root of a container that runs from an image: the
// image's unpacked tree, shared read-only by every container of the image,
// under a writable layer that lives inside the sandbox (gVisor's rootfs
// overlay, its upper layer a tmpfs in the sandbox's memory capped at
// DiskBytes). Writes never reach Dir; a container that fills its layer gets
// ENOSPC.
type ImageRoot struct {
	// Dir is the unpacked tree. It comes from the daemon's image store,
	// never from a request, so it is not checked against the host path
	// policy; it is pinned read-only like a host rootfs.
	Dir string
	// DiskBytes caps the writable layer; at least MinDiskBytes.
	DiskBytes int64
}

// MinDiskBytes is the smallest writable layer.
const MinDiskBytes = 1 << 20

// gVisor's rootfs hints (runsc/boot/mount_hints.go): per container, the
// root is a bind mount overlaid by an upper layer in sandbox memory.
const (
	annotationRootfsSource  = "dev.gvisor.spec.rootfs.source"
	annotationRootfsType    = "dev.gvisor.spec.rootfs.type"
	annotationRootfsOverlay = "dev.gvisor.spec.rootfs.overlay"
	annotationRootfsOptions = "dev.gvisor.spec.rootfs.options"
)

func imageSource(req *Request) (hostSource, error) {
	img := req.Image
	if req.Rootfs != "" {
		return hostSource{}, errdefs.InvalidArgument("rootfs and image are exclusive: a container runs from a host directory or from an image")
	}
	if !filepath.IsAbs(img.Dir) || filepath.Clean(img.Dir) != img.Dir || img.Dir == "/" {
		return hostSource{}, errdefs.FailedPrecondition("image tree %q must be an absolute, clean path", img.Dir)
	}
	if img.DiskBytes < MinDiskBytes {
		return hostSource{}, errdefs.InvalidArgument("disk %d bytes is below the smallest writable layer, %d bytes", img.DiskBytes, MinDiskBytes)
	}
	return hostSource{Path: img.Dir, Root: img.Dir, IsDir: true}, nil
}

// withImageRoot makes the root writable for the sandbox only: runsc
// overlays it with a memory-backed upper layer of img.DiskBytes, while the
// host bind stays read-only (Create pins it so).
func withImageRoot(img *ImageRoot, rootfs string) SpecOpt {
	return func(s *specs.Spec) error {
		if img == nil {
			return nil
		}
		s.Root.Readonly = false
		if s.Annotations == nil {
			s.Annotations = map[string]string{}
		}
		s.Annotations[annotationRootfsSource] = rootfs
		s.Annotations[annotationRootfsType] = "bind"
		s.Annotations[annotationRootfsOverlay] = "memory"
		s.Annotations[annotationRootfsOptions] = "size=" + strconv.FormatInt(img.DiskBytes, 10)
		return nil
	}
}

// imageRootfsHint is the rootfs path named in the rootfs hint: the same
// for every container. runsc reads a bind root from spec.Root.Path (the
// hint's source only matters for erofs) and needs it only absolute, but
// its restore compares annotations verbatim: a per-bundle path would make
// every restore of a snapshot into a new container's bundle fail.
const imageRootfsHint = "/" + rootfsDirName

// checkImageMounts refuses what runsc's gofer would have to bind into the
// image root: it makes bind mount points on the host, in the root
// directory, which for an image is the shared read-only tree. tmpfs volumes
// are made by the sandbox and are fine.
func checkImageMounts(user []userMount) error {
	for _, u := range user {
		if u.mount.Type == "bind" {
			return errdefs.InvalidArgument("%s at %s: bind volumes and secrets are not supported yet for a container that runs from an image (its root is a shared read-only tree); use a tmpfs volume", u.what, u.mount.Destination)
		}
	}
	return nil
}

// hasMountPoint reports whether the image tree dir has a real directory
// (not a symlink) at mp, one component under "/": the image store makes
// it in every tree it unpacks; trees unpacked before it did have none, and
// a bind mount onto a missing point of a shared read-only tree fails the
// sandbox's start.
func hasMountPoint(dir, mp string) bool {
	fi, err := os.Lstat(filepath.Join(dir, filepath.Base(mp)))
	return err == nil && fi.IsDir()
}
