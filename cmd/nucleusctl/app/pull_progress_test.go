package app

import (
	"strings"
	"testing"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
)

func TestPullProgress(t *testing.T) {
	const a, b = "sha256:aaaaaaaaaaaaaaaa", "sha256:bbbbbbbbbbbbbbbb"
	events := []*nucleusv1.PullProgress{
		{LayerDigest: a, Status: "downloading", DoneBytes: 0, TotalBytes: 1000},
		{LayerDigest: b, Status: "exists", TotalBytes: 10},
		{LayerDigest: a, Status: "downloading", DoneBytes: 500, TotalBytes: 1000},
		{LayerDigest: a, Status: "verified", DoneBytes: 1000, TotalBytes: 1000},
	}
	var plain strings.Builder
	p := &pullProgress{w: &plain, layers: map[string]*nucleusv1.PullProgress{}}
	for _, e := range events {
		p.update(e)
	}
	// Plain: one line per layer status change, no escapes.
	if lines := strings.Split(strings.TrimSpace(plain.String()), "\n"); len(lines) != 3 || strings.Contains(plain.String(), "\x1b") ||
		!strings.HasPrefix(lines[0], "aaaaaaaaaaaa: downloading") || !strings.HasPrefix(lines[2], "aaaaaaaaaaaa: verified") {
		t.Errorf("plain progress:\n%s", plain.String())
	}
	var tty strings.Builder
	p = &pullProgress{w: &tty, tty: true, layers: map[string]*nucleusv1.PullProgress{}}
	for _, e := range events[:3] {
		p.update(e)
	}
	// Terminal: the bars are redrawn in place; the last frame has a half bar.
	frames := strings.Split(tty.String(), "\x1b[2A")
	last := frames[len(frames)-1]
	if len(frames) < 2 || !strings.Contains(last, "["+strings.Repeat("=", barWidth/2)+strings.Repeat(" ", barWidth/2)+"]") {
		t.Errorf("terminal progress frames %q", tty.String())
	}
}
