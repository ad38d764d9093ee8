package core

import (
	"fmt"

	"nucleus.dev/nucleus/daemon/config"
	"nucleus.dev/nucleus/hooks"
)

// NewHooks builds the hook runner of cfg's [hooks] section, validating
// every hook file and the directories above it on disk now. Open calls it
// when the daemon starts and `nucleusd config check` calls it with no
// options, so both refuse exactly the same hooks for the same reasons (the
// runner checks each hook again, with the same rules, before every run).
func NewHooks(cfg *config.Config, opts ...hooks.Option) (*hooks.Runner, error) {
	r, err := hooks.New(hooksConfig(cfg.Hooks), opts...)
	if err != nil {
		return nil, fmt.Errorf("hooks: %w", err)
	}
	return r, nil
}

func hooksConfig(c config.HooksConfig) hooks.Config {
	out := hooks.Config{TrustedDirs: c.TrustedDirs, DefaultSet: c.DefaultSet, Sets: map[string]hooks.Set{}}
	conv := func(in []config.Hook) []hooks.Hook {
		var hs []hooks.Hook
		for _, h := range in {
			hs = append(hs, hooks.Hook{Path: h.Path, Args: h.Args, Env: h.Env, Timeout: hooks.Duration(h.Timeout)})
		}
		return hs
	}
	for name, s := range c.Sets {
		out.Sets[name] = hooks.Set{CreateRuntime: conv(s.CreateRuntime), Poststart: conv(s.Poststart), Poststop: conv(s.Poststop)}
	}
	return out
}
