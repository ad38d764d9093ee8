package bundle

import "runtime"

// Policy is the operator's policy plus per-caller rights, decided by the
// daemon. Zero values take the defaults below.
type Policy struct {
	// AllowedHostPaths is the operator allowlist ([security]
	// allowed_host_paths): bind sources and a host Rootfs must resolve
	// under one of them.
	AllowedHostPaths []string
	// DeniedHostPaths are added to the built-in sensitive paths; the daemon
	// passes its --root and --state.
	DeniedHostPaths []string
	// AllowHostPaths is false for non-root callers: bind volumes and Rootfs
	// are then refused with PermissionDenied.
	AllowHostPaths bool
	// HostPidsLimit is the host pids cgroup limit, sized for the sentry and
	// gofer threads (never from Request.Resources.Pids). 0 means
	// DefaultHostPidsLimit, negative means no host limit; positive values
	// below MinHostPidsLimit are refused.
	HostPidsLimit int64
	// Size caps of the sandbox's /tmp, /dev/shm and of the secrets tmpfs.
	TmpSizeBytes, ShmSizeBytes, SecretsSizeBytes int64
	// CgroupParent is a relative cgroup path; cgroupsPath becomes
	// "/<CgroupParent>/<id>". Default "nucleus".
	CgroupParent string
	// OCISeccomp says the daemon runs runsc with --oci-seccomp. Without it
	// runsc ignores a seccomp profile, so Request.Seccomp is refused.
	OCISeccomp bool

	// Limits on the request's size.
	MaxArgs             int   // entries in Args
	MaxArgsBytes        int   // bytes of all Args
	MaxEnv              int   // entries in Env
	MaxEnvBytes         int   // bytes of all Env entries
	MaxAnnotations      int   // annotations plus labels
	MaxAnnotationsBytes int   // bytes of all their keys and values
	MaxAdditionalGIDs   int   // entries in User.AdditionalGIDs
	MaxVolumes          int   // entries in Volumes
	MaxTmpfsVolumeBytes int64 // SizeBytes of one tmpfs volume
	MaxSecrets          int   // entries in Secrets
	MaxSecretBytes      int   // bytes of one secret
	MaxMemoryBytes      int64 // Resources.MemoryBytes; 0 = no cap
	MaxCPUs             float64
	MaxPids             int64
	MaxMemlockBytes     int64
}

// Defaults and floors of Policy.
const (
	DefaultHostPidsLimit = 1024
	// MinHostPidsLimit is the floor for the host pids cgroup: it counts the
	// sentry's and gofer's host threads; 16 stops the sandbox from
	// starting and 128 let a guest fork bomb crash it.
	MinHostPidsLimit = 512

	DefaultTmpSizeBytes     = 64 << 20
	DefaultShmSizeBytes     = 64 << 20
	DefaultSecretsSizeBytes = 4 << 20
	DefaultCgroupParent     = "nucleus"
	DefaultMemlockBytes     = 64 << 10

	defaultMaxArgs             = 1024
	defaultMaxArgsBytes        = 256 << 10
	defaultMaxEnv              = 4096
	defaultMaxEnvBytes         = 1 << 20
	defaultMaxAnnotations      = 128
	defaultMaxAnnotationsBytes = 64 << 10
	defaultMaxAdditionalGIDs   = 32
	defaultMaxVolumes          = 32
	defaultMaxTmpfsVolumeBytes = 1 << 30
	defaultMaxSecrets          = 32
	defaultMaxSecretBytes      = 1 << 20
	defaultMaxPids             = 1 << 20
	defaultMaxMemlockBytes     = 64 << 20

	// MinMemoryBytes is the smallest memory limit accepted: the limit
	// covers the sentry and gofer too, and below it the sandbox cannot start.
	MinMemoryBytes = 64 << 20
	// MinCPUs is the smallest CPU share: 1 ms per 100 ms period.
	MinCPUs = 0.01
)

// withDefaults returns a copy of p (or of the zero Policy) with every zero
// field set to its default.
func (p *Policy) withDefaults() Policy {
	var q Policy
	if p != nil {
		q = *p
	}
	setDefault(&q.HostPidsLimit, DefaultHostPidsLimit)
	setDefault(&q.TmpSizeBytes, DefaultTmpSizeBytes)
	setDefault(&q.ShmSizeBytes, DefaultShmSizeBytes)
	setDefault(&q.SecretsSizeBytes, DefaultSecretsSizeBytes)
	setDefault(&q.CgroupParent, DefaultCgroupParent)
	setDefault(&q.MaxArgs, defaultMaxArgs)
	setDefault(&q.MaxArgsBytes, defaultMaxArgsBytes)
	setDefault(&q.MaxEnv, defaultMaxEnv)
	setDefault(&q.MaxEnvBytes, defaultMaxEnvBytes)
	setDefault(&q.MaxAnnotations, defaultMaxAnnotations)
	setDefault(&q.MaxAnnotationsBytes, defaultMaxAnnotationsBytes)
	setDefault(&q.MaxAdditionalGIDs, defaultMaxAdditionalGIDs)
	setDefault(&q.MaxVolumes, defaultMaxVolumes)
	setDefault(&q.MaxTmpfsVolumeBytes, defaultMaxTmpfsVolumeBytes)
	setDefault(&q.MaxSecrets, defaultMaxSecrets)
	setDefault(&q.MaxSecretBytes, defaultMaxSecretBytes)
	setDefault(&q.MaxCPUs, float64(runtime.NumCPU()))
	setDefault(&q.MaxPids, defaultMaxPids)
	setDefault(&q.MaxMemlockBytes, defaultMaxMemlockBytes)
	return q
}

func setDefault[T comparable](field *T, def T) {
	var zero T
	if *field == zero {
		*field = def
	}
}
