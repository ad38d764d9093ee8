package bundle

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"nucleus.dev/nucleus/internal/errdefs"
)

// Create builds the spec and writes the bundle: paths.BundleDir (0700,
// root-owned; 0711 with a user namespace, whose mapped root runsc's gofer
// runs as, and which must also be able to traverse the parents) with rootfs (0755), pinned bind sources under volumes/,
// config.json (0600, atomic), and the secrets tmpfs at paths.SecretsDir.
// The returned spec is the one written: bind sources point at their pins.
// With a host Rootfs, missing bind mount points are created inside that
// directory (as runsc's gofer would) and stay there after Remove.
// On any failure it removes everything it made.
func Create(id string, req *Request, pol *Policy, paths Paths) (_ *specs.Spec, err error) {
	spec, p, err := build(id, req, pol, paths)
	if err != nil {
		return nil, err
	}
	if err := checkPaths(paths); err != nil {
		return nil, err
	}
	if len(p.secrets) > 0 {
		if _, err := os.Lstat(paths.SecretsDir); err == nil {
			return nil, errdefs.AlreadyExists("secrets directory %s already exists", paths.SecretsDir)
		}
		if err := os.MkdirAll(filepath.Dir(paths.SecretsDir), 0o700); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(filepath.Dir(paths.BundleDir), 0o700); err != nil {
		return nil, err
	}
	if err := os.Mkdir(paths.BundleDir, 0o700); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, errdefs.AlreadyExists("bundle directory %s already exists", paths.BundleDir)
		}
		return nil, err
	}
	defer func() {
		if err != nil {
			cleanup := Paths{BundleDir: paths.BundleDir}
			if len(p.secrets) > 0 {
				cleanup.SecretsDir = paths.SecretsDir
			}
			if rerr := Remove(cleanup); rerr != nil {
				err = errors.Join(err, fmt.Errorf("cleaning up: %w", rerr))
			}
		}
	}()
	d := Dir(paths.BundleDir)
	if err := os.Chmod(string(d), p.bundleMode); err != nil {
		return nil, err
	}
	steps := []struct {
		name string
		run  func() error
	}{
		{"rootfs", func() error { return makeRootfs(d, p) }},
		{"volumes", func() error { return pinVolumes(d, spec, p) }},
		{"secrets", func() error {
			if len(p.secrets) == 0 {
				return nil
			}
			return stageSecrets(paths.SecretsDir, p.secrets, p.secretsSize, p.secretUID, p.secretGID)
		}},
		{"config", func() error { return writeConfig(d, spec) }},
	}
	for _, s := range steps {
		if err := s.run(); err != nil {
			return nil, err
		}
		if createFault != nil {
			if err := createFault(s.name); err != nil {
				return nil, err
			}
		}
	}
	return spec, nil
}

// createFault, when set by tests, runs after each step of Create and fails
// it with the error it returns.
var createFault func(step string) error

// checkPaths refuses paths the daemon got wrong: relative, unclean, "/",
// or secrets inside the on-disk bundle.
func checkPaths(paths Paths) error {
	for _, p := range []string{paths.BundleDir, paths.SecretsDir} {
		if p == paths.SecretsDir && p == "" {
			continue // secrets need it; secretMounts checked
		}
		if !filepath.IsAbs(p) || filepath.Clean(p) != p || p == "/" {
			return errdefs.FailedPrecondition("bundle path %q must be absolute, clean and not /", p)
		}
	}
	if paths.SecretsDir != "" && (isUnder(paths.SecretsDir, paths.BundleDir) || isUnder(paths.BundleDir, paths.SecretsDir)) {
		return errdefs.FailedPrecondition("secrets directory %s and bundle directory %s must not nest: secrets never go to the on-disk bundle", paths.SecretsDir, paths.BundleDir)
	}
	return nil
}

// makeRootfs creates rootfs (0755): the empty one gets the merged-/usr
// symlinks; a host directory is pinned there. Then every mount point is
// created without following symlinks, and a host rootfs is made read-only.
func makeRootfs(d Dir, p *plan) error {
	rootfs := d.RootfsPath()
	if err := os.Mkdir(rootfs, 0o755); err != nil {
		return err
	}
	if err := os.Chmod(rootfs, 0o755); err != nil {
		return err
	}
	switch {
	case p.rootfs != nil && p.mountLayer:
		if err := mountImageLayer(d, p, rootfs); err != nil {
			return err
		}
	case p.rootfs != nil && p.idmap != nil:
		if err := idmappedBind(p.rootfs.Path, rootfs, p.idmap); err != nil {
			return err
		}
	case p.rootfs != nil:
		if err := pinSource(*p.rootfs, rootfs, false); err != nil {
			return err
		}
	}
	rootFD, err := unix.Open(rootfs, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(rootFD)
	for _, l := range p.links {
		if err := unix.Symlinkat(l.Target, rootFD, l.Name); err != nil {
			return fmt.Errorf("creating rootfs link %s -> %s: %w", l.Name, l.Target, err)
		}
	}
	for _, mp := range p.mountPoints {
		if err := makeMountPoint(rootFD, mp); err != nil {
			return err
		}
	}
	if p.rootfs != nil {
		return remountBind(rootfs, true)
	}
	return nil
}

// pinVolumes pins each bind volume source at volumes/<n> and points its
// spec mount there.
func pinVolumes(d Dir, spec *specs.Spec, p *plan) error {
	if len(p.pins) == 0 {
		return nil
	}
	if err := os.Mkdir(d.volumesPath(), 0o700); err != nil {
		return err
	}
	for n, pn := range p.pins {
		target := filepath.Join(d.volumesPath(), strconv.Itoa(n))
		if pn.Src.IsDir {
			if err := os.Mkdir(target, 0o700); err != nil {
				return err
			}
		} else if err := os.WriteFile(target, nil, 0o600); err != nil {
			return err
		}
		m := &spec.Mounts[pn.Mount]
		if err := pinSource(pn.Src, target, hasOption(m.Options, "ro")); err != nil {
			return err
		}
		m.Source = target
	}
	return nil
}

func hasOption(opts []string, o string) bool {
	for _, x := range opts {
		if x == o {
			return true
		}
	}
	return false
}

// writeConfig writes config.json atomically: a 0600 temp file created with
// O_EXCL|O_NOFOLLOW, fsynced, renamed into place, and the directory synced.
func writeConfig(d Dir, spec *specs.Spec) error {
	data, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return err
	}
	dirFD, err := unix.Open(string(d), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	dir := os.NewFile(uintptr(dirFD), string(d))
	defer dir.Close()
	const tmp = "." + configName + ".tmp"
	_ = unix.Unlinkat(dirFD, tmp, 0)
	fd, err := unix.Openat(dirFD, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), tmp)
	_, err = f.Write(append(data, '\n'))
	if err == nil {
		err = f.Chmod(0o600)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = unix.Renameat(dirFD, tmp, dirFD, configName)
	}
	if err != nil {
		_ = unix.Unlinkat(dirFD, tmp, 0)
		return fmt.Errorf("writing %s: %w", d.ConfigPath(), err)
	}
	return dir.Sync()
}
