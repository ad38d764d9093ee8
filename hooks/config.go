package hooks

import (
	"fmt"
	"time"
)

// Config is the [hooks] table of nucleusd's configuration file. Hooks come
// only from here: an API request names a set, it never carries a path.
//
//	[hooks]
//	trusted_dirs = ["/usr/libexec/nucleus/hooks"]
//	default_set  = "audit"
//
//	[hooks.sets.audit]
//	create_runtime = [{ path = "/usr/libexec/nucleus/hooks/audit", args = ["audit", "--json"], env = ["A=B"], timeout = "5s" }]
//	poststart      = []
//	poststop       = []
type Config struct {
	// TrustedDirs (trusted_dirs) lists the directories a hook may live in.
	// When set it replaces the built-in list, DefaultTrustedDirs. Entries
	// are absolute, clean paths other than "/". The hook and each directory
	// above it, from "/" down, must be owned by root or nucleusd's uid and
	// writable by their owner alone (not group- or world-writable, not
	// even with the sticky bit).
	TrustedDirs []string `toml:"trusted_dirs,omitempty"`
	// DefaultSet (default_set) is the set applied to a container whose
	// request names none. Empty (the default): such containers run no hooks.
	DefaultSet string `toml:"default_set,omitempty"`
	// Sets (sets.<name>) are the named hook sets a request may choose from
	// (`nucleusctl run --hooks <name>`). Names follow the container-name
	// rule: [a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}.
	Sets map[string]Set `toml:"sets,omitempty"`
}

// Set is one named hook set ([hooks.sets.<name>]); each phase's hooks run
// in the order listed.
type Set struct {
	// CreateRuntime (create_runtime) hooks run after the sandbox is created
	// and before it starts. Any failure aborts the create.
	CreateRuntime []Hook `toml:"create_runtime,omitempty"`
	// Poststart (poststart) hooks run after the container started. A failure
	// is logged and published as an event; the container keeps running.
	Poststart []Hook `toml:"poststart,omitempty"`
	// Poststop (poststop) hooks run after the container is gone, also for
	// containers force-removed or that died while nucleusd was down. Every
	// hook runs even when an earlier one failed.
	Poststop []Hook `toml:"poststop,omitempty"`

	// Prestart, CreateContainer and StartContainer (prestart,
	// create_container, start_container) are refused with a reason rather
	// than dropped: prestart is deprecated by the OCI spec (use
	// create_runtime), and the other two run inside the container's
	// namespaces, which gVisor's sandbox does not expose to the host.
	Prestart        []Hook `toml:"prestart,omitempty"`
	CreateContainer []Hook `toml:"create_container,omitempty"`
	StartContainer  []Hook `toml:"start_container,omitempty"`
}

// Hook is one program run on the host, as in the OCI spec's hook object.
type Hook struct {
	// Path (path) is the absolute path of the executable, under a trusted
	// directory, with no symlink in any component.
	Path string `toml:"path"`
	// Args (args) is the full argv, args[0] included (OCI semantics). Empty
	// means argv = [path].
	Args []string `toml:"args,omitempty"`
	// Env (env) is the hook's whole environment as KEY=value entries. Empty
	// means only PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin.
	// nucleusd's own environment and the container's never reach a hook.
	// Values are never logged.
	Env []string `toml:"env,omitempty"`
	// Timeout (timeout) bounds the run, e.g. "5s"; 0 or unset means 30s. At
	// the timeout the hook's whole process group is killed.
	Timeout Duration `toml:"timeout,omitempty"`
}

// Duration is a time.Duration written as a string ("5s", "1m30s") in TOML.
type Duration time.Duration

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(text []byte) error {
	v, err := time.ParseDuration(string(text))
	if err != nil {
		return fmt.Errorf("invalid duration %q: want a string like \"5s\" or \"1m\"", text)
	}
	*d = Duration(v)
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// String formats d like time.Duration.
func (d Duration) String() string { return time.Duration(d).String() }

// Phase names a point of the container lifecycle, spelled as in the OCI spec.
type Phase string

// The phases nucleusd runs. CreateRuntime is strict (use Run); Poststart and
// Poststop are best effort per the OCI runtime spec (use RunBestEffort).
const (
	CreateRuntime Phase = "createRuntime"
	Poststart     Phase = "poststart"
	Poststop      Phase = "poststop"
)

// DefaultTimeout applies to a hook whose timeout is unset. The OCI spec has
// no default; a hook that hangs must not hang a container's lifecycle.
const DefaultTimeout = 30 * time.Second

// defaultTrustedDirs is the built-in list, used when neither the config
// nor an Option sets one. Never weaken it: extend it in the config.
var defaultTrustedDirs = [...]string{
	"/usr/bin", "/usr/sbin", "/usr/lib", "/usr/libexec",
	"/usr/local/bin", "/usr/local/sbin", "/usr/local/libexec",
	"/bin", "/sbin", "/nix/store", "/opt",
}

// DefaultTrustedDirs returns a copy of the built-in trusted directories.
// On merged-/usr systems /bin and /sbin are symlinks, so hooks there are
// refused: name them by their /usr path.
func DefaultTrustedDirs() []string { return append([]string(nil), defaultTrustedDirs[:]...) }

// minimalEnv is the environment of a hook whose config sets none.
var minimalEnv = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}

// phaseHooks returns the hooks of s for phase p.
func (s Set) phaseHooks(p Phase) ([]Hook, bool) {
	switch p {
	case CreateRuntime:
		return s.CreateRuntime, true
	case Poststart:
		return s.Poststart, true
	case Poststop:
		return s.Poststop, true
	}
	return nil, false
}
