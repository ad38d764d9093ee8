package runsc

import (
	"bufio"
	"bytes"
	"context"
	"debug/buildinfo"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"nucleus.dev/nucleus/internal/errdefs"
)

// Locate finds the runsc binary: the configured path when set, else the
// runsc next to selfExe (the nucleusd binary), else runsc on PATH. The result
// is absolute and must be a regular executable file that only its owner can
// write (and, when nucleusd runs as root, owned by root): runsc is in the
// trusted computing base.
func Locate(configured, selfExe string) (string, error) {
	var candidates []string
	switch {
	case configured != "":
		candidates = []string{configured}
	default:
		if selfExe != "" {
			candidates = append(candidates, filepath.Join(filepath.Dir(selfExe), "runsc"))
		}
		if p, err := exec.LookPath("runsc"); err == nil {
			candidates = append(candidates, p)
		}
	}
	var errs []string
	for _, c := range candidates {
		abs, err := filepath.Abs(c)
		if err == nil {
			err = checkBinary(abs)
		}
		if err == nil {
			return abs, nil
		}
		errs = append(errs, err.Error())
		if configured != "" {
			break
		}
	}
	if len(errs) == 0 {
		errs = append(errs, "not next to nucleusd and not on PATH")
	}
	return "", errdefs.NotFound("runsc binary: %s", strings.Join(errs, "; "))
}

func checkBinary(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	switch mode := fi.Mode(); {
	case !mode.IsRegular():
		return fmt.Errorf("%s is not a regular file", path)
	case mode.Perm()&0o111 == 0:
		return fmt.Errorf("%s is not executable", path)
	case mode.Perm()&0o022 != 0:
		return fmt.Errorf("%s is writable by group or others (mode %v)", path, mode.Perm())
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && os.Geteuid() == 0 && st.Uid != 0 {
		return fmt.Errorf("%s is owned by uid %d, not root", path, st.Uid)
	}
	return nil
}

// versionMissing is what a runsc built without gVisor's version stamp
// reports as its version.
const versionMissing = "VERSION_MISSING"

// gvisorModule is the module runsc is built from.
const gvisorModule = "gvisor.dev/gvisor"

// VersionInfo is what `runsc --version` reports.
type VersionInfo struct {
	// Version is runsc's version: its stamp (`make build` stamps the
	// gvisor.dev/gvisor module version), or for a runsc built without one
	// (which says "VERSION_MISSING") the module version its build
	// information names.
	Version string `json:"version"`
	// Spec is the OCI runtime-spec version runsc implements.
	Spec string `json:"spec"`
}

func (v VersionInfo) String() string { return fmt.Sprintf("runsc %s (spec %s)", v.Version, v.Spec) }

// Version runs `runsc --version`. The daemon calls it at start, to fail
// early on a broken binary and to record the version with each sandbox.
func (r *Runsc) Version(ctx context.Context) (VersionInfo, error) {
	if r.Binary == "" {
		return VersionInfo{}, invalid("runsc binary not set")
	}
	cmd := exec.CommandContext(ctx, r.Binary, "--version")
	var stdout bytes.Buffer
	stderr := &tailBuffer{}
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	inv := invocation{verb: "--version"}
	if err := r.startWait(cmd); err != nil {
		return VersionInfo{}, r.newError(ctx, inv, cmd, err, stderr.String())
	}
	var v VersionInfo
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if rest, ok := strings.CutPrefix(line, "runsc version "); ok {
			v.Version = strings.TrimSpace(rest)
		} else if rest, ok := strings.CutPrefix(line, "spec: "); ok {
			v.Spec = strings.TrimSpace(rest)
		}
	}
	if v.Version == "" || v.Spec == "" {
		return VersionInfo{}, &Error{Verb: "--version", ExitCode: 0, Stderr: fmt.Sprintf("unexpected output %q", stdout.String()), kind: errdefs.ErrUnavailable}
	}
	if v.Version == versionMissing {
		// Built without gVisor's version stamp (a plain go build): its
		// build information still names the gVisor module version.
		if bi, err := buildinfo.ReadFile(r.Binary); err == nil && bi.Main.Path == gvisorModule && bi.Main.Version != "" {
			v.Version = bi.Main.Version
		}
	}
	if !strings.HasPrefix(v.Spec, "1.") {
		return v, errdefs.FailedPrecondition("%v: nucleus needs an OCI runtime-spec 1.x runtime", v)
	}
	return v, nil
}
