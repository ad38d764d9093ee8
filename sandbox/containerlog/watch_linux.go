package containerlog

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
)

// Watcher signals changes to log files to their followers through one
// inotify instance shared by all of them (a daemon has one): a watch per
// log directory, however many followers it has. Followers with no Watcher
// poll. Its methods are safe for concurrent use.
type Watcher struct {
	f      *os.File
	fd     int
	exited chan struct{}

	mu   sync.Mutex
	dirs map[string]*watchedDir // by directory path
	byWD map[int32]*watchedDir
}

// watchedDir is one inotify watch and the followers of files in it.
type watchedDir struct {
	path string
	wd   int32
	subs map[*watchSub]struct{}
}

// watchSub is one follower: it is woken for changes to base or base+".1".
type watchSub struct {
	base string
	c    chan struct{}
}

const watchMask = syscall.IN_MODIFY | syscall.IN_CREATE | syscall.IN_MOVED_TO |
	syscall.IN_MOVED_FROM | syscall.IN_DELETE | syscall.IN_CLOSE_WRITE

// NewWatcher creates the shared inotify instance; an error (for example
// the per-user instance limit) leaves followers polling.
func NewWatcher() (*Watcher, error) {
	fd, err := syscall.InotifyInit1(syscall.IN_CLOEXEC | syscall.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("inotify: %w", err)
	}
	// A non-blocking fd goes to the runtime poller: Read parks the goroutine
	// and Close wakes it.
	w := &Watcher{f: os.NewFile(uintptr(fd), "inotify"), fd: fd, exited: make(chan struct{}),
		dirs: map[string]*watchedDir{}, byWD: map[int32]*watchedDir{}}
	go w.run()
	return w, nil
}

// Close stops the watcher; its followers fall back to their safety poll.
func (w *Watcher) Close() error {
	if w == nil {
		return nil
	}
	err := w.f.Close()
	<-w.exited
	return err
}

// subscribe returns a channel that receives a value after changes to path
// or path+".1", and the function that ends the subscription. The channel
// is nil (never ready) when the directory cannot be watched.
func (w *Watcher) subscribe(path string) (<-chan struct{}, func()) {
	if w == nil {
		return nil, func() {}
	}
	dir := filepath.Dir(path)
	s := &watchSub{base: filepath.Base(path), c: make(chan struct{}, 1)}
	w.mu.Lock()
	defer w.mu.Unlock()
	d := w.dirs[dir]
	if d == nil {
		wd, err := syscall.InotifyAddWatch(w.fd, dir, watchMask)
		if err != nil {
			return nil, func() {}
		}
		if d = w.byWD[int32(wd)]; d == nil { // another name for a watched directory reuses its watch
			d = &watchedDir{path: dir, wd: int32(wd), subs: map[*watchSub]struct{}{}}
			w.byWD[d.wd] = d
		}
		w.dirs[dir] = d
	}
	d.subs[s] = struct{}{}
	return s.c, func() { w.unsubscribe(dir, s) }
}

func (w *Watcher) unsubscribe(dir string, s *watchSub) {
	w.mu.Lock()
	defer w.mu.Unlock()
	d := w.dirs[dir]
	if d == nil {
		return
	}
	delete(d.subs, s)
	if len(d.subs) > 0 || w.byWD[d.wd] != d {
		return
	}
	for p, other := range w.dirs {
		if other == d {
			delete(w.dirs, p)
		}
	}
	delete(w.byWD, d.wd)
	_, _ = syscall.InotifyRmWatch(w.fd, uint32(d.wd))
}

// watching is how many directories have a watch (tests).
func (w *Watcher) watching() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.byWD)
}

// followers is how many followers are subscribed (tests).
func (w *Watcher) followers() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, d := range w.byWD {
		n += len(d.subs)
	}
	return n
}

func (w *Watcher) run() {
	defer close(w.exited)
	buf := make([]byte, 64<<10)
	for {
		n, err := w.f.Read(buf)
		if err != nil {
			return
		}
		w.dispatch(buf[:n])
	}
}

// dispatch wakes the followers that the inotify events in b concern; an
// overflow wakes every follower.
func (w *Watcher) dispatch(b []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for len(b) >= syscall.SizeofInotifyEvent {
		wd := int32(binary.NativeEndian.Uint32(b[0:]))
		mask := binary.NativeEndian.Uint32(b[4:])
		n := int(binary.NativeEndian.Uint32(b[12:]))
		end := min(len(b), syscall.SizeofInotifyEvent+n)
		name := string(bytes.TrimRight(b[syscall.SizeofInotifyEvent:end], "\x00"))
		b = b[end:]
		if mask&syscall.IN_Q_OVERFLOW != 0 {
			for _, d := range w.byWD {
				for s := range d.subs {
					s.wake()
				}
			}
			continue
		}
		d := w.byWD[wd]
		if d == nil {
			continue
		}
		for s := range d.subs {
			if mask&syscall.IN_IGNORED != 0 || name == s.base || name == s.base+".1" {
				s.wake()
			}
		}
		if mask&syscall.IN_IGNORED != 0 { // the directory is gone, and its watch with it
			delete(w.byWD, wd)
			for p, other := range w.dirs {
				if other == d {
					delete(w.dirs, p)
				}
			}
		}
	}
}

func (s *watchSub) wake() {
	select {
	case s.c <- struct{}{}:
	default:
	}
}
