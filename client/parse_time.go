package client

import (
	"math"
	"strconv"
	"strings"
	"time"

	"nucleus.dev/nucleus/internal/errdefs"
)

// timeLayouts are the absolute forms ParseSince accepts, as docker does;
// the forms without a zone are local time.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04:05",
	"2006-01-02T15:04",
	"2006-01-02",
}

// ParseSince reads docker's --since: a duration before now ("10m", "1h30m"),
// a Unix timestamp ("1700000000" or "1700000000.5") or an RFC 3339 time
// ("2026-01-02T15:04:05Z"; date and time without a zone are local).
func ParseSince(s string, now time.Time) (time.Time, error) {
	// "0" is a Unix timestamp (the epoch: everything), not "0s ago" (now),
	// as in docker.
	if d, err := time.ParseDuration(s); err == nil && s != "0" {
		if d < 0 {
			return time.Time{}, errdefs.InvalidArgument("invalid time %q: a relative time must be positive (e.g. 10m)", s)
		}
		return now.Add(-d), nil
	}
	if sec, frac, ok := strings.Cut(s, "."); sec != "" && strings.Trim(sec, "0123456789") == "" {
		n, err := strconv.ParseInt(sec, 10, 64)
		var ns int64
		if ok {
			if len(frac) == 0 || len(frac) > 9 || strings.Trim(frac, "0123456789") != "" {
				err = strconv.ErrSyntax
			} else {
				ns, _ = strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
			}
		}
		if err == nil && n <= math.MaxInt64/int64(time.Second) {
			return time.Unix(n, ns), nil
		}
	}
	for _, layout := range timeLayouts {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errdefs.InvalidArgument("invalid time %q: want a duration (10m), a Unix timestamp or RFC 3339 (2026-01-02T15:04:05Z)", s)
}
