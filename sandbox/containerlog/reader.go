package containerlog

import (
	"context"
	"fmt"
	"os"
	"time"
)

// StreamSet selects streams to read.
type StreamSet uint8

// The streams a StreamSet can hold.
const (
	Stdout StreamSet = 1 << iota
	Stderr
	Nucleus    // rotation markers
	AllStreams = Stdout | Stderr | Nucleus
)

func (s StreamSet) has(stream string) bool {
	switch stream {
	case StreamStdout:
		return s&Stdout != 0
	case StreamStderr:
		return s&Stderr != 0
	}
	return s&Nucleus != 0
}

// ReadOptions selects what Read returns.
type ReadOptions struct {
	// Follow keeps reading new entries after the history until ctx is
	// cancelled or Done is closed.
	Follow bool
	// Done, when closed, tells a follower the container has exited (and its
	// writer has closed the log): Read emits what is left and returns nil.
	Done <-chan struct{}
	// Tail limits the history to its last Tail matching entries; negative
	// means all, 0 none. It counts entries, not lines: a long line split
	// into P entries counts once per entry, and the history may start in
	// the middle of such a line.
	Tail int
	// Since drops entries older than this time; zero keeps all.
	Since time.Time
	// Streams selects the streams; 0 means AllStreams.
	Streams StreamSet
	// Watcher tells a follower about new output; nil means poll.
	Watcher *Watcher
	// Positioned, when set, is called once the history is emitted: every
	// entry written from then on reaches a follower. A caller that causes
	// output (stdin it forwards) waits for it, so that none is missed.
	Positioned func()

	pollInterval time.Duration // tests: polling period; 0 means the default
	noInotify    bool          // tests: poll even where inotify works
}

// Read emits the entries of the log at path, oldest first: the history
// (path+".1", then path), then, with Follow, new entries as they are
// written. Filters apply in the order Streams, Since, Tail. Corrupt lines
// and a torn last line are skipped. A missing log reads as empty (a
// follower waits for it to appear). Entry.Content is valid only during the
// call to emit; copy it to keep it. An error from emit ends Read and is
// returned; cancelling ctx ends it with ctx.Err().
func Read(ctx context.Context, path string, opts ReadOptions, emit func(Entry) error) error {
	if opts.Streams == 0 {
		opts.Streams = AllStreams
	}
	r := &reader{path: path, opts: opts, emit: emit}
	defer r.closeCur()
	if err := r.history(ctx); err != nil {
		return err
	}
	if opts.Positioned != nil {
		opts.Positioned()
	}
	if !opts.Follow {
		return nil
	}
	return r.follow(ctx)
}

// reader is the state of one Read.
type reader struct {
	path  string
	opts  ReadOptions
	emit  func(Entry) error
	cur   *logFile // the newest file opened: live, or awaiting its successor
	lines int
}

// logFile is an open log file and the reader's position in it.
type logFile struct {
	f  *os.File
	fi os.FileInfo
	lr *lineReader
}

func (r *reader) closeCur() {
	if r.cur != nil {
		r.cur.f.Close()
		r.cur = nil
	}
}

// history emits the entries present now, applying Tail.
func (r *reader) history(ctx context.Context) error {
	old, cur, err := openPair(r.path)
	if err != nil {
		return err
	}
	files := make([]*logFile, 0, 2)
	for _, lf := range []*logFile{old, cur} {
		if lf != nil {
			files = append(files, lf)
		}
	}
	if len(files) == 0 {
		return nil
	}
	last := files[len(files)-1]
	r.cur = last
	if len(files) == 2 {
		defer old.f.Close()
	}
	// With Tail, find where the last Tail matching entries start by
	// reading back from the end of the complete lines there are now (a
	// fixed end, so the forward pass sees the same entries while the log
	// grows); then emit forward from there.
	first, from, limit := 0, int64(0), int64(-1)
	if r.opts.Tail >= 0 {
		var err error
		if first, from, limit, err = r.tailStart(ctx, files); err != nil {
			return err
		}
	}
	for i, lf := range files {
		if i < first {
			continue
		}
		lim := int64(-1)
		if lf == last {
			lim = limit
		}
		lf.lr = newLineReader(lf.f, lim)
		if i == first {
			lf.lr.pos = from
		}
		if err := r.scan(ctx, lf, lf.lr, r.emit); err != nil {
			return err
		}
	}
	last.lr.limit = -1
	return nil
}

// tailStart finds where the history starts when it is the last Tail
// matching entries: the index of the first file to read, the offset to
// read it from, and the end of the complete lines of the last file.
func (r *reader) tailStart(ctx context.Context, files []*logFile) (first int, from, limit int64, err error) {
	last, want := len(files)-1, r.opts.Tail
	for i := last; i >= 0; i-- {
		fi, err := files[i].f.Stat()
		if err != nil {
			return 0, 0, 0, fmt.Errorf("stat container log: %w", err)
		}
		end, err := completeEnd(files[i].f, fi.Size())
		if err != nil {
			return 0, 0, 0, err
		}
		if i == last {
			limit = end
			if want == 0 {
				return last, end, limit, nil
			}
		}
		found, count := false, 0
		err = scanBackward(ctx, files[i].f, end, func(line []byte, start int64) bool {
			e, perr := ParseEntry(line)
			if perr != nil || !r.opts.Streams.has(e.Stream) || e.Time.Before(r.opts.Since) {
				return false
			}
			if count++; count == want {
				first, from, found = i, start, true
			}
			return found
		})
		if err != nil || found {
			return first, from, limit, err
		}
		want -= count
	}
	return 0, 0, limit, nil // fewer than Tail: all of them
}

// scan passes the matching entries of lr's complete lines to fn until no
// complete line is left.
func (r *reader) scan(ctx context.Context, lf *logFile, lr *lineReader, fn func(Entry) error) error {
	for {
		line, ok, err := lr.next()
		if err != nil {
			return fmt.Errorf("read container log %s: %w", lf.f.Name(), err)
		}
		if !ok {
			return nil
		}
		if r.lines++; r.lines%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		e, err := ParseEntry(line)
		if err != nil || !r.opts.Streams.has(e.Stream) || e.Time.Before(r.opts.Since) {
			continue
		}
		if err := fn(e); err != nil {
			return err
		}
	}
}
