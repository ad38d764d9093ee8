package config

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"nucleus.dev/nucleus/internal/identifiers"
)

// validate checks the hooks section's shape; the hooks package checks the
// binaries and the directories above them (owner, mode, symlinks) through
// core.NewHooks, which both the daemon's start and `nucleusd config check`
// call.
func (h *HooksConfig) validate(p *problems) {
	for i, dir := range h.TrustedDirs {
		checkAbs(p, fmt.Sprintf("hooks.trusted_dirs[%d]", i), dir, false)
	}
	if h.DefaultSet != "" {
		if _, ok := h.Sets[h.DefaultSet]; !ok {
			p.add("hooks.default_set", "%q is not a set under [hooks.sets]", h.DefaultSet)
		}
	}
	names := make([]string, 0, len(h.Sets))
	for name := range h.Sets {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		key := "hooks.sets." + name
		if err := identifiers.Validate("hook set name", name); err != nil {
			p.add(key, "%v", err)
		}
		set := h.Sets[name]
		phases := []struct {
			name  string
			hooks []Hook
		}{{"create_runtime", set.CreateRuntime}, {"poststart", set.Poststart}, {"poststop", set.Poststop}}
		for _, ph := range phases {
			for i, hk := range ph.hooks {
				h.validateHook(p, fmt.Sprintf("%s.%s[%d]", key, ph.name, i), hk)
			}
		}
	}
}

func (h *HooksConfig) validateHook(p *problems, key string, hk Hook) {
	checkAbs(p, key+".path", hk.Path, false)
	// With trusted_dirs empty the hooks package's built-in list applies,
	// and the hooks package checks against it.
	if filepath.IsAbs(hk.Path) && len(h.TrustedDirs) > 0 && !inAnyDir(hk.Path, h.TrustedDirs) {
		p.add(key+".path", "%q is not inside any of hooks.trusted_dirs %q", hk.Path, h.TrustedDirs)
	}
	for j, kv := range hk.Env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			p.add(fmt.Sprintf("%s.env[%d]", key, j), "%q is not KEY=VALUE", kv)
		}
	}
	if hk.Timeout < 0 {
		p.add(key+".timeout", "%s is negative", hk.Timeout)
	}
}

// inAnyDir reports whether path lies strictly below one of dirs, lexically.
func inAnyDir(path string, dirs []string) bool {
	for _, d := range dirs {
		if rel, err := filepath.Rel(filepath.Clean(d), path); err == nil &&
			rel != "." && rel != ".." && !strings.HasPrefix(rel, "../") {
			return true
		}
	}
	return false
}
