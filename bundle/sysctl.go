package bundle

import (
	"slices"
	"strconv"
	"strings"

	"nucleus.dev/nucleus/internal/errdefs"
)

func checkSysctls(req *Request, _ *Policy) error {
	for k, v := range req.Sysctls {
		valid, ok := allowedSysctls[k]
		if !ok {
			return errdefs.InvalidArgument("sysctl %.80q is not allowed; allowed (namespaced and honoured by runsc): %s", k, strings.Join(allowedSysctlNames(), ", "))
		}
		if err := valid(v); err != nil {
			return errdefs.InvalidArgument("sysctl %s=%.40q: %v", k, v, err)
		}
	}
	return nil
}

func allowedSysctlNames() []string {
	names := make([]string, 0, len(allowedSysctls))
	for k := range allowedSysctls {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

type sysctlError string

func (e sysctlError) Error() string { return string(e) }

func sysctlBool(v string) error {
	if v != "0" && v != "1" {
		return sysctlError("value must be 0 or 1")
	}
	return nil
}

func sysctlRange(lo, hi int) func(string) error {
	return func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return sysctlError("value must be an integer from " + strconv.Itoa(lo) + " to " + strconv.Itoa(hi))
		}
		return nil
	}
}
