package client

import (
	"math"
	"regexp"
	"strconv"
	"strings"

	"nucleus.dev/nucleus/internal/errdefs"
)

// sizePattern is docker's RAMInBytes syntax: a decimal number, an optional
// space, an optional binary unit and an optional "i" and "b".
var sizePattern = regexp.MustCompile(`^(\d+(?:\.\d+)?) ?([kmgtp])?i?b?$`)

// ParseSize reads a human size as docker's --memory does: "1024", "64k",
// "256m", "1.5g", "2GiB"; units are binary (k = 1024) and the result is
// rounded down to whole bytes.
func ParseSize(s string) (int64, error) {
	m := sizePattern.FindStringSubmatch(strings.ToLower(strings.TrimSpace(s)))
	if m == nil {
		return 0, errdefs.InvalidArgument("invalid size %q: want a number with an optional unit k, m, g, t or p (e.g. 256m, 1.5g)", s)
	}
	mult := int64(1)
	if m[2] != "" {
		mult = int64(1) << (10 * (1 + strings.Index("kmgtp", m[2])))
	}
	if !strings.Contains(m[1], ".") {
		n, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil || n > math.MaxInt64/mult {
			return 0, errdefs.InvalidArgument("invalid size %q: too large", s)
		}
		return n * mult, nil
	}
	f, err := strconv.ParseFloat(m[1], 64)
	if err != nil || f*float64(mult) >= math.MaxInt64 {
		return 0, errdefs.InvalidArgument("invalid size %q: too large", s)
	}
	return int64(f * float64(mult)), nil
}
