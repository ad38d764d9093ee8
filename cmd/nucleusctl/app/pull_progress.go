package app

import (
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
)

// pullProgress renders PullImage progress: on a terminal one bar per
// layer, redrawn in place; otherwise one plain line per layer status
// change (downloading is printed once, not per chunk).
type pullProgress struct {
	w      io.Writer
	tty    bool
	quiet  bool
	order  []string
	layers map[string]*nucleusv1.PullProgress
	drawn  int // lines drawn last time (tty)
}

func newPullProgress(w io.Writer, quiet bool) *pullProgress {
	f, ok := w.(*os.File)
	return &pullProgress{w: w, quiet: quiet, tty: ok && term.IsTerminal(int(f.Fd())), layers: map[string]*nucleusv1.PullProgress{}}
}

func (p *pullProgress) update(pr *nucleusv1.PullProgress) {
	if p.quiet {
		return
	}
	d := pr.GetLayerDigest()
	old, seen := p.layers[d]
	if !seen {
		p.order = append(p.order, d)
	}
	p.layers[d] = pr
	if p.tty {
		p.redraw()
		return
	}
	if !seen || old.GetStatus() != pr.GetStatus() {
		fmt.Fprintf(p.w, "%s: %s %s\n", imageID(d, false), pr.GetStatus(), sizeOf(pr))
	}
}

func sizeOf(pr *nucleusv1.PullProgress) string {
	if pr.GetTotalBytes() <= 0 {
		return bytesSize(uint64(max(pr.GetDoneBytes(), 0)))
	}
	return bytesSize(uint64(max(pr.GetDoneBytes(), 0))) + "/" + bytesSize(uint64(pr.GetTotalBytes()))
}

// barWidth is the width of a progress bar in cells.
const barWidth = 30

func (p *pullProgress) redraw() {
	var b strings.Builder
	if p.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", p.drawn) // back to the first bar
	}
	for _, d := range p.order {
		pr := p.layers[d]
		fill := barWidth
		if t := pr.GetTotalBytes(); t > 0 && pr.GetStatus() == "downloading" {
			fill = int(min(pr.GetDoneBytes(), t) * barWidth / t)
		}
		fmt.Fprintf(&b, "\x1b[2K%s: %-11s [%s%s] %s\n", imageID(d, false), pr.GetStatus(),
			strings.Repeat("=", fill), strings.Repeat(" ", barWidth-fill), sizeOf(pr))
	}
	p.drawn = len(p.order)
	io.WriteString(p.w, b.String())
}

func (p *pullProgress) finish() {}
