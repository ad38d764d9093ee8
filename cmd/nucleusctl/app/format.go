package app

import (
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/types/known/timestamppb"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
)

// shortID is the 12-character id docker shows.
func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// humanDuration renders d as docker does ("Less than a second",
// "3 seconds", "About a minute", "2 hours", ...).
func humanDuration(d time.Duration) string {
	seconds := int(d.Seconds())
	minutes := int(d.Minutes())
	hours := int(math.Round(d.Hours()))
	switch {
	case seconds < 1:
		return "Less than a second"
	case seconds == 1:
		return "1 second"
	case seconds < 60:
		return fmt.Sprintf("%d seconds", seconds)
	case minutes == 1:
		return "About a minute"
	case minutes < 60:
		return fmt.Sprintf("%d minutes", minutes)
	case hours == 1:
		return "About an hour"
	case hours < 48:
		return fmt.Sprintf("%d hours", hours)
	case hours < 24*7*2:
		return fmt.Sprintf("%d days", hours/24)
	case hours < 24*30*2:
		return fmt.Sprintf("%d weeks", hours/24/7)
	case hours < 24*365*2:
		return fmt.Sprintf("%d months", hours/24/30)
	}
	return fmt.Sprintf("%d years", int(d.Hours())/24/365)
}

// status is docker's STATUS column: "Up 3 seconds", "Up 1 second (Paused)",
// "Exited (7) 2 minutes ago", "Created"; "Exited (code pending)" while
// the daemon cannot record an exit yet.
func status(c *nucleusv1.Container, now time.Time) string {
	if c.GetExitPending() != "" {
		// Exited, but its status is not recorded yet: no code to show.
		return "Exited (code pending)"
	}
	switch c.GetState() {
	case nucleusv1.ContainerState_CONTAINER_STATE_CREATING:
		return "Creating"
	case nucleusv1.ContainerState_CONTAINER_STATE_CREATED:
		return "Created"
	case nucleusv1.ContainerState_CONTAINER_STATE_RUNNING:
		return "Up" + since(c.GetStartedAt(), now, "")
	case nucleusv1.ContainerState_CONTAINER_STATE_PAUSED:
		return "Up" + since(c.GetStartedAt(), now, "") + " (Paused)"
	case nucleusv1.ContainerState_CONTAINER_STATE_EXITED:
		return fmt.Sprintf("Exited (%d)%s", c.GetExit().GetExitCode(), since(c.GetFinishedAt(), now, " ago"))
	case nucleusv1.ContainerState_CONTAINER_STATE_REMOVED:
		return "Removed"
	}
	return "Unknown"
}

// since is " " + the time from ts to now + suffix, or "" when ts is unset.
func since(ts *timestamppb.Timestamp, now time.Time, suffix string) string {
	if ts == nil {
		return ""
	}
	return " " + humanDuration(now.Sub(ts.AsTime())) + suffix
}

// command is docker's COMMAND column: the argv joined, truncated to 20
// characters with "…" unless noTrunc, and quoted.
func command(args []string, noTrunc bool) string {
	s := strings.Join(args, " ")
	if !noTrunc && utf8.RuneCountInString(s) > 20 {
		s = string([]rune(s)[:19]) + "…"
	}
	return fmt.Sprintf("%q", s)
}

// bytesSize renders n with binary units as docker's stats do ("12.5MiB").
func bytesSize(n uint64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	f, i := float64(n), 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	return fmt.Sprintf("%.4g%s", f, units[i])
}

// enumName is the short lower-case name of an enum value:
// CONTAINER_STATE_RUNNING → "running", EVENT_TYPE_HOOK_FAILED → "hook_failed".
func enumName(full, prefix string) string {
	return strings.ToLower(strings.TrimPrefix(full, prefix))
}

// parseEnum finds the value of an enum by its short name ("running",
// "hook-failed"); zero (UNSPECIFIED) is never matched.
func parseEnum(names map[int32]string, prefix, s string) (int32, bool) {
	want := strings.ReplaceAll(strings.ToLower(s), "-", "_")
	for n, full := range names {
		if n != 0 && enumName(full, prefix) == want {
			return n, true
		}
	}
	return 0, false
}

// timestampLayout is RFC 3339 with fixed-width nanoseconds, so that
// timestamped lines align (docker's RFC3339NanoFixed).
const timestampLayout = "2006-01-02T15:04:05.000000000Z07:00"
