package bundle

import (
	"path/filepath"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"nucleus.dev/nucleus/internal/errdefs"
)

// SpecOpt changes a spec under construction (containerd's oci.SpecOpts).
type SpecOpt func(*specs.Spec) error

func process(s *specs.Spec) *specs.Process {
	if s.Process == nil {
		s.Process = &specs.Process{}
	}
	return s.Process
}

func linux(s *specs.Spec) *specs.Linux {
	if s.Linux == nil {
		s.Linux = &specs.Linux{}
	}
	return s.Linux
}

// WithReadonlyRootfs makes the bundle's "rootfs" the read-only root.
func WithReadonlyRootfs() SpecOpt {
	return func(s *specs.Spec) error {
		s.Root = &specs.Root{Path: rootfsDirName, Readonly: true}
		return nil
	}
}

// WithNoNewPrivileges sets no_new_privs on the process.
func WithNoNewPrivileges() SpecOpt {
	return func(s *specs.Spec) error {
		process(s).NoNewPrivileges = true
		return nil
	}
}

// WithDroppedCaps empties all five capability sets.
func WithDroppedCaps() SpecOpt {
	return func(s *specs.Spec) error {
		process(s).Capabilities = &specs.LinuxCapabilities{
			Bounding: []string{}, Effective: []string{}, Inheritable: []string{},
			Permitted: []string{}, Ambient: []string{},
		}
		return nil
	}
}

// WithMaskedPaths masks the kernel interfaces of maskedPaths.
func WithMaskedPaths() SpecOpt {
	return func(s *specs.Spec) error {
		linux(s).MaskedPaths = append([]string(nil), maskedPaths...)
		return nil
	}
}

// WithReadonlyPaths keeps readonlyPaths read-only.
func WithReadonlyPaths() SpecOpt {
	return func(s *specs.Spec) error {
		linux(s).ReadonlyPaths = append([]string(nil), readonlyPaths...)
		return nil
	}
}

// WithDefaultDevices allows only null, zero, full, random and urandom.
func WithDefaultDevices() SpecOpt {
	return func(s *specs.Spec) error {
		linux(s).Devices = defaultDevices()
		return nil
	}
}

// WithNamespaces gives the sandbox new pid, network, ipc, uts, mount and
// cgroup namespaces, plus a user namespace with mappings when un is set,
// and private rootfs propagation.
//
// "private" rather than runc's "rprivate": runtime-spec 1.2.1 (its schema
// and config-linux.md) allows only private, shared, slave and unbindable.
// runsc applies it to its recursive self-bind of the rootfs after making
// its whole mount namespace a recursive slave; our rootfs (an empty
// directory or a non-recursive bind) has no submounts then, so private is
// rprivate here.
func WithNamespaces(un *UserNamespace) SpecOpt {
	return func(s *specs.Spec) error {
		l := linux(s)
		l.Namespaces = nil
		for _, t := range namespaces {
			l.Namespaces = append(l.Namespaces, specs.LinuxNamespace{Type: t})
		}
		if un != nil {
			l.Namespaces = append(l.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
			l.UIDMappings = specIDMappings(un.UIDMappings)
			l.GIDMappings = specIDMappings(un.GIDMappings)
		}
		l.RootfsPropagation = "private"
		return nil
	}
}

// withNetworkNamespace makes the sandbox join the prepared network
// namespace at path; empty keeps a new one.
func withNetworkNamespace(path string) SpecOpt {
	return func(s *specs.Spec) error {
		if path == "" {
			return nil
		}
		if !filepath.IsAbs(path) {
			return errdefs.FailedPrecondition("network namespace path %q must be absolute", path)
		}
		l := linux(s)
		for i := range l.Namespaces {
			if l.Namespaces[i].Type == specs.NetworkNamespace {
				l.Namespaces[i].Path = path
			}
		}
		return nil
	}
}

// withProcess sets argv, env (after the fixed PATH), cwd and identity.
func withProcess(req *Request) SpecOpt {
	return func(s *specs.Spec) error {
		p := process(s)
		p.Terminal = req.Terminal // the supervisor receives the console (runsc --console-socket)
		p.Args = append([]string(nil), req.Args...)
		p.Env = processEnv(req.Env)
		p.Cwd = req.Cwd
		if p.Cwd == "" {
			p.Cwd = "/"
		}
		p.User = specs.User{UID: req.User.UID, GID: req.User.GID}
		if len(req.User.AdditionalGIDs) > 0 {
			p.User.AdditionalGids = append([]uint32(nil), req.User.AdditionalGIDs...)
		}
		return nil
	}
}

func withRlimits(r Resources) SpecOpt {
	return func(s *specs.Spec) error {
		process(s).Rlimits = rlimits(r)
		return nil
	}
}

func withHostname(h string) SpecOpt {
	return func(s *specs.Spec) error {
		s.Hostname = h
		return nil
	}
}

func withMounts(m []specs.Mount) SpecOpt {
	return func(s *specs.Spec) error {
		s.Mounts = m
		return nil
	}
}

func withResources(r *specs.LinuxResources, cgroupsPath string) SpecOpt {
	return func(s *specs.Spec) error {
		linux(s).Resources = r
		linux(s).CgroupsPath = cgroupsPath
		return nil
	}
}

func withSysctls(m map[string]string) SpecOpt {
	return func(s *specs.Spec) error {
		if len(m) == 0 {
			return nil
		}
		linux(s).Sysctl = make(map[string]string, len(m))
		for k, v := range m {
			linux(s).Sysctl[k] = v
		}
		return nil
	}
}

func withSeccomp(sc *specs.LinuxSeccomp) SpecOpt {
	return func(s *specs.Spec) error {
		if sc == nil {
			return nil
		}
		c := *sc
		if sc.DefaultErrnoRet != nil {
			v := *sc.DefaultErrnoRet
			c.DefaultErrnoRet = &v
		}
		c.Architectures = slices.Clone(sc.Architectures)
		c.Flags = slices.Clone(sc.Flags)
		c.Syscalls = make([]specs.LinuxSyscall, len(sc.Syscalls))
		for i, r := range sc.Syscalls {
			r.Names = slices.Clone(r.Names)
			r.Args = slices.Clone(r.Args)
			if r.ErrnoRet != nil {
				v := *r.ErrnoRet
				r.ErrnoRet = &v
			}
			c.Syscalls[i] = r
		}
		if len(c.Syscalls) == 0 {
			c.Syscalls = nil
		}
		linux(s).Seccomp = &c
		return nil
	}
}

func withAnnotations(a map[string]string) SpecOpt {
	return func(s *specs.Spec) error {
		s.Annotations = a
		return nil
	}
}
