package network

import "time"

// logWindow lets through deniedLogsPerMinute log lines a minute and counts
// the rest, so a container cannot flood the daemon's log with queries.
type logWindow struct {
	start            time.Time
	logged, withheld int
}

const deniedLogsPerMinute = 20

// allow reports whether to log now, and how many lines were withheld in
// the window that just ended.
func (w *logWindow) allow(now time.Time) (ok bool, withheld int) {
	if now.Sub(w.start) >= time.Minute {
		withheld = w.withheld
		*w = logWindow{start: now}
	}
	if w.logged >= deniedLogsPerMinute {
		w.withheld++
		return false, withheld
	}
	w.logged++
	return true, withheld
}
