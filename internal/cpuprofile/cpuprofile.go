// Package cpuprofile writes a Go CPU profile of the running process when
// the operator asks for one with the NUCLEUS_CPU_PROFILE_DIR environment
// variable: nucleusd and every supervisor it starts then profile
// themselves into that directory, one file per process, for `go tool
// pprof` (which merges several files). It is a measuring aid for the
// benchmark (`go run ./bench -cpu-profile DIR`), off unless the variable
// is set in nucleusd's own environment.
package cpuprofile

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
)

// EnvVar names the directory profiles are written to.
const EnvVar = "NUCLEUS_CPU_PROFILE_DIR"

// Dir is the profile directory from the environment, "" when profiling is
// off.
func Dir() string { return os.Getenv(EnvVar) }

// Start profiles the process into Dir()/<name>-<pid>.pprof until the
// returned stop is called; without the variable it does nothing (stop is
// still safe to call). The directory must exist and be an absolute path.
func Start(name string) (stop func(), err error) {
	dir := Dir()
	if dir == "" {
		return func() {}, nil
	}
	if !filepath.IsAbs(dir) {
		return func() {}, fmt.Errorf("%s=%q: not an absolute path", EnvVar, dir)
	}
	path := filepath.Join(dir, fmt.Sprintf("%s-%d.pprof", name, os.Getpid()))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return func() {}, fmt.Errorf("CPU profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return func() {}, fmt.Errorf("CPU profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}, nil
}

// Env is what a child process needs in its environment to profile itself
// too: nothing when profiling is off.
func Env() []string {
	if dir := Dir(); dir != "" {
		return []string{EnvVar + "=" + dir}
	}
	return nil
}
