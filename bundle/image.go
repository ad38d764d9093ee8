package bundle

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

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

// resolveImageDestinations resolves each user mount's destination inside
// the image tree dir as the container will see it (docker's rule: a
// symlink in the image is followed, but never above the image's "/"), and
// rewrites it to the result, so the sandbox and runsc's gofer mount at the
// same symlink-free place. A destination that resolves to a forbidden
// place ("/", /proc, ...) is refused. It reports whether any user mount is
// a bind (a volume or a secret), which needs the mount-point layer; tmpfs
// volumes are made by the sandbox in its own layer.
func resolveImageDestinations(dir string, user []userMount) (needLayer bool, err error) {
	if len(user) == 0 {
		return false, nil
	}
	treeFD, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return false, fmt.Errorf("opening image tree %s: %w", dir, err)
	}
	defer unix.Close(treeFD)
	for i := range user {
		u := &user[i]
		resolved, err := resolveInTree(treeFD, u.mount.Destination)
		if err != nil {
			return false, fmt.Errorf("%s destination %s: resolving it in the image: %w", u.what, u.mount.Destination, err)
		}
		if resolved != u.mount.Destination {
			if resolved, err = cleanDestination(fmt.Sprintf("%s destination %s, through the image's symlinks,", u.what, u.mount.Destination), resolved); err != nil {
				return false, err
			}
			u.mount.Destination = resolved
		}
		needLayer = needLayer || isBind(u.mount)
	}
	return needLayer, nil
}

// resolveInTree resolves dst (clean, absolute) in the tree open at treeFD
// with openat2(RESOLVE_IN_ROOT): the longest prefix that exists is
// resolved through its symlinks, scoped to the tree, and the missing rest
// is appended (a dangling symlink stays in place: creating its mount
// point then fails, never follows it).
func resolveInTree(treeFD int, dst string) (string, error) {
	base, err := fdPath(treeFD)
	if err != nil {
		return "", err
	}
	parts := strings.Split(strings.TrimPrefix(dst, "/"), "/")
	for n := len(parts); n > 0; n-- {
		fd, err := openat2(treeFD, strings.Join(parts[:n], "/"), &unix.OpenHow{
			Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV,
		})
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
			continue
		}
		if err != nil {
			return "", err
		}
		p, err := fdPath(fd)
		unix.Close(fd)
		if err != nil {
			return "", err
		}
		rel, err := filepath.Rel(base, p)
		if err != nil || !filepath.IsLocal(rel) && rel != "." {
			return "", fmt.Errorf("resolved outside the image tree (%s)", p)
		}
		return path.Join("/", rel, path.Join(parts[n:]...)), nil
	}
	return dst, nil
}

// fdPath is the path the kernel gives an open fd.
func fdPath(fd int) (string, error) {
	return os.Readlink(fmt.Sprintf("/proc/self/fd/%d", fd))
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
