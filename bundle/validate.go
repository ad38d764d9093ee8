package bundle

import (
	"path"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"nucleus.dev/nucleus/internal/errdefs"
)

// check is one named validation of a request against the (defaulted) policy.
type check struct {
	name string
	fn   func(*Request, *Policy) error
}

// checks run in order before anything is built; each returns an errdefs
// InvalidArgument or PermissionDenied error naming what is allowed.
var checks = []check{
	{"args", checkArgs},
	{"env", checkEnv},
	{"cwd", checkCwd},
	{"hostname", checkHostname},
	{"user", checkUser},
	{"annotations", checkAnnotations},
	{"sysctls", checkSysctls},
	{"user namespace", checkUserNamespace},
	{"seccomp", checkSeccomp},
	{"resources", checkResources},
	{"pod", checkPod},
}

// podID is a runsc container id (nucleusd's are 32 hex digits).
var podID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)

func checkPod(req *Request, _ *Policy) error {
	if req.Pod != "" && !podID.MatchString(req.Pod) {
		return errdefs.InvalidArgument("pod %.80q is not a sandbox id", req.Pod)
	}
	return nil
}

func validateRequest(req *Request, pol *Policy) error {
	for _, c := range checks {
		if err := c.fn(req, pol); err != nil {
			return err
		}
	}
	return nil
}

func checkArgs(req *Request, pol *Policy) error {
	if len(req.Args) == 0 || req.Args[0] == "" {
		return errdefs.InvalidArgument("args must name the program to run (args[0] is empty)")
	}
	if len(req.Args) > pol.MaxArgs {
		return errdefs.InvalidArgument("args has %d entries; at most %d are allowed", len(req.Args), pol.MaxArgs)
	}
	total := 0
	for i, a := range req.Args {
		total += len(a)
		if err := checkText("args["+strconv.Itoa(i)+"]", a); err != nil {
			return err
		}
	}
	if total > pol.MaxArgsBytes {
		return errdefs.InvalidArgument("args total %d bytes; at most %d are allowed", total, pol.MaxArgsBytes)
	}
	return nil
}

var envKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func checkEnv(req *Request, pol *Policy) error {
	if len(req.Env) > pol.MaxEnv {
		return errdefs.InvalidArgument("env has %d entries; at most %d are allowed", len(req.Env), pol.MaxEnv)
	}
	total := 0
	seen := map[string]bool{}
	for i, e := range req.Env {
		total += len(e)
		if total > pol.MaxEnvBytes {
			return errdefs.InvalidArgument("env is larger than %d bytes in total", pol.MaxEnvBytes)
		}
		k, v, ok := strings.Cut(e, "=")
		if !ok || !envKey.MatchString(k) {
			return errdefs.InvalidArgument("env[%d] must be KEY=VALUE with KEY of letters, digits and '_' not starting with a digit", i)
		}
		if err := checkText("env "+k, v); err != nil {
			return err
		}
		if seen[k] {
			return errdefs.InvalidArgument("env sets %s more than once; each key may appear once", k)
		}
		seen[k] = true
	}
	return nil
}

// checkText rejects strings JSON cannot carry faithfully (invalid UTF-8)
// and NUL bytes, which a C argv or environment would truncate.
func checkText(what, s string) error {
	if !utf8.ValidString(s) {
		return errdefs.InvalidArgument("%s is not valid UTF-8", what)
	}
	if strings.IndexByte(s, 0) >= 0 {
		return errdefs.InvalidArgument("%s contains a NUL byte", what)
	}
	return nil
}

func checkCwd(req *Request, _ *Policy) error {
	if req.Cwd == "" {
		return nil
	}
	if err := checkPathString("cwd", req.Cwd); err != nil {
		return err
	}
	if !strings.HasPrefix(req.Cwd, "/") || hasDotDot(req.Cwd) || path.Clean(req.Cwd) != req.Cwd {
		return errdefs.InvalidArgument("cwd %q must be an absolute, clean path (no '..', '.', '//' or trailing '/')", req.Cwd)
	}
	if isUnder(req.Cwd, "/proc") {
		return errdefs.InvalidArgument("cwd %q is under /proc, which is not allowed (leaked-fd attacks, CVE-2024-21626)", req.Cwd)
	}
	return nil
}

var hostnameLabel = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)

func checkHostname(req *Request, _ *Policy) error {
	h := req.Hostname
	if h == "" {
		return nil
	}
	if len(h) > 63 {
		return errdefs.InvalidArgument("hostname is %d characters; at most 63 are allowed", len(h))
	}
	for _, l := range strings.Split(h, ".") {
		if !hostnameLabel.MatchString(l) {
			return errdefs.InvalidArgument("hostname %q is invalid: use dot-separated labels of letters, digits and inner '-'", h)
		}
	}
	return nil
}

func checkUser(req *Request, pol *Policy) error {
	const invalid = ^uint32(0)
	if req.User.UID == invalid || req.User.GID == invalid {
		return errdefs.InvalidArgument("uid and gid must be below %d", invalid)
	}
	if len(req.User.AdditionalGIDs) > pol.MaxAdditionalGIDs {
		return errdefs.InvalidArgument("user has %d additional gids; at most %d are allowed", len(req.User.AdditionalGIDs), pol.MaxAdditionalGIDs)
	}
	for _, g := range req.User.AdditionalGIDs {
		if g == invalid {
			return errdefs.InvalidArgument("additional gid %d is invalid", g)
		}
	}
	return nil
}
