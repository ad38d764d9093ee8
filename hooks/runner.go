package hooks

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"go.uber.org/zap"

	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/internal/identifiers"
)

// Runner holds the validated hook sets and runs them. It is immutable after
// New and safe for concurrent use.
type Runner struct {
	sets       map[string]Set
	defaultSet string
	trusted    []string
	uid        int
	log        *zap.Logger
	// beforeExec, when set (tests only), runs between a hook's validation
	// and its exec: the window a swap attack aims for.
	beforeExec func(path string)
}

// Option configures a Runner.
type Option func(*Runner)

// WithTrustedDirs replaces the built-in trusted directories (tests point
// them at a temporary directory). The config's trusted_dirs, when set,
// takes precedence over both.
func WithTrustedDirs(dirs ...string) Option {
	return func(r *Runner) { r.trusted = slices.Clone(dirs) }
}

// WithLogger sets the logger; nil means no logging.
func WithLogger(l *zap.Logger) Option {
	return func(r *Runner) {
		if l != nil {
			r.log = l
		}
	}
}

// WithDaemonUID sets the uid that may own hooks besides root (default: the
// effective uid of this process).
func WithDaemonUID(uid int) Option { return func(r *Runner) { r.uid = uid } }

// New validates cfg, every hook in every set included, against the files on
// disk now. Its error names, for each broken hook (all of them, one per
// line), the set, the phase, the hook's index and path, and the rule
// broken; nucleusd refuses to start on it.
func New(cfg Config, opts ...Option) (*Runner, error) {
	r := &Runner{
		sets:    make(map[string]Set, len(cfg.Sets)),
		trusted: DefaultTrustedDirs(),
		uid:     os.Geteuid(),
		log:     zap.NewNop(),
	}
	for _, o := range opts {
		o(r)
	}
	if len(cfg.TrustedDirs) > 0 {
		r.trusted = slices.Clone(cfg.TrustedDirs)
	}
	if err := checkTrustedDirs(r.trusted); err != nil {
		return nil, errdefs.InvalidArgument("hooks.trusted_dirs: %v", err)
	}
	names := make([]string, 0, len(cfg.Sets))
	for name := range cfg.Sets {
		names = append(names, name)
	}
	slices.Sort(names)
	var errs []error
	for _, name := range names {
		if err := identifiers.Validate("hook set name", name); err != nil {
			errs = append(errs, fmt.Errorf("hooks.sets: %w", err))
			continue
		}
		set, err := r.checkSet(name, cfg.Sets[name])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		r.sets[name] = set
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if cfg.DefaultSet != "" {
		if _, ok := r.sets[cfg.DefaultSet]; !ok {
			return nil, errdefs.InvalidArgument("hooks.default_set: no hook set named %q is configured", cfg.DefaultSet)
		}
		r.defaultSet = cfg.DefaultSet
	}
	return r, nil
}

// checkSet validates one set and returns it with timeouts defaulted.
func (r *Runner) checkSet(name string, s Set) (Set, error) {
	for _, refused := range []struct {
		key    string
		hooks  []Hook
		reason string
	}{
		{"prestart", s.Prestart, "prestart is deprecated by the OCI spec; use create_runtime"},
		{"create_container", s.CreateContainer, "createContainer hooks run in the container's namespaces, which gVisor does not expose to the host"},
		{"start_container", s.StartContainer, "startContainer hooks run inside the container, which gVisor does not support"},
	} {
		if len(refused.hooks) > 0 {
			return Set{}, errdefs.InvalidArgument("hooks.sets.%s.%s: not supported: %s", name, refused.key, refused.reason)
		}
	}
	out := Set{}
	var errs []error
	for _, ph := range []struct {
		key   string
		hooks []Hook
		dst   *[]Hook
	}{
		{"create_runtime", s.CreateRuntime, &out.CreateRuntime},
		{"poststart", s.Poststart, &out.Poststart},
		{"poststop", s.Poststop, &out.Poststop},
	} {
		for i, h := range ph.hooks {
			h, err := r.checkHook(h)
			if err != nil {
				errs = append(errs, errdefs.InvalidArgument("hooks.sets.%s.%s[%d] (%s): %v", name, ph.key, i, h.Path, err))
				continue
			}
			*ph.dst = append(*ph.dst, h)
		}
	}
	if len(errs) > 0 {
		return Set{}, errors.Join(errs...)
	}
	return out, nil
}

// checkHook validates h's fields and its file, and returns h with its
// slices copied and its timeout defaulted.
func (r *Runner) checkHook(h Hook) (Hook, error) {
	h.Args, h.Env = slices.Clone(h.Args), slices.Clone(h.Env)
	if h.Timeout < 0 {
		return h, errors.New("timeout must not be negative")
	}
	if h.Timeout == 0 {
		h.Timeout = Duration(DefaultTimeout)
	}
	for _, a := range h.Args {
		if strings.ContainsRune(a, 0) {
			return h, errors.New("args must not contain NUL bytes")
		}
	}
	seen := make(map[string]bool, len(h.Env))
	for _, e := range h.Env {
		k, _, ok := strings.Cut(e, "=")
		switch {
		case !ok || k == "":
			return h, fmt.Errorf("env entry %q is not KEY=value", k)
		case strings.ContainsRune(e, 0):
			return h, fmt.Errorf("env entry %s contains a NUL byte", k)
		case seen[k]:
			return h, fmt.Errorf("env sets %s twice", k)
		}
		seen[k] = true
	}
	fd, err := openVerified(h.Path, r.trusted, r.uid)
	if err != nil {
		return h, err
	}
	closeFD(fd)
	return h, nil
}

// Resolve maps the hook set named in a container request to the set to
// record with the container: "" means the configured default_set (which
// may itself be "", no hooks). An unknown name is InvalidArgument.
func (r *Runner) Resolve(name string) (string, error) {
	if name == "" {
		return r.defaultSet, nil
	}
	if _, ok := r.sets[name]; !ok {
		return "", errdefs.InvalidArgument("unknown hook set %q", name)
	}
	return name, nil
}
