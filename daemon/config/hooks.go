package config

// HooksConfig is the [hooks] section. It has the shape of the hooks
// package's configuration, which validates it further against the file
// system (ownership, permissions) when the daemon loads it.
type HooksConfig struct {
	TrustedDirs []string           `toml:"trusted_dirs" doc:"Directories that hook binaries must lie in; the binary and every directory above it, from /, must be owned by root (or nucleusd's uid) and writable by no one else, so not under /tmp. Empty means the hooks package's built-in list."`
	DefaultSet  string             `toml:"default_set" doc:"Hook set for containers that name none; empty means no hooks."`
	Sets        map[string]HookSet `toml:"sets" doc:"Named hook sets, [hooks.sets.<name>]."`
}

// HookSet is one named set of hooks, by OCI phase.
type HookSet struct {
	CreateRuntime []Hook `toml:"create_runtime" doc:"Run on the host after runsc create; a failure fails the create."`
	Poststart     []Hook `toml:"poststart" doc:"Run after start; a failure is a warning."`
	Poststop      []Hook `toml:"poststop" doc:"Run after the container stops; best effort."`
}

// Hook is one hook binary and how to call it.
type Hook struct {
	Path    string   `toml:"path" doc:"Absolute path of the binary, inside a trusted_dirs entry."`
	Args    []string `toml:"args" doc:"Full argv, argv[0] included; empty means [path]."`
	Env     []string `toml:"env" doc:"The hook's whole environment, each \"KEY=VALUE\"."`
	Timeout Duration `toml:"timeout" doc:"Kill the hook's process group after this long; \"0s\" means the hooks package default (30s)."`
}
