package containerlog

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"syscall"
)

// watcher signals changes to a log's files through inotify on their
// directory.
type watcher struct {
	f      *os.File
	c      chan struct{}
	exited chan struct{}
}

// newWatcher returns nil when inotify is unavailable (for example when the
// per-user instance limit is reached); the caller then polls.
func newWatcher(path string) *watcher {
	fd, err := syscall.InotifyInit1(syscall.IN_CLOEXEC | syscall.IN_NONBLOCK)
	if err != nil {
		return nil
	}
	const mask = syscall.IN_MODIFY | syscall.IN_CREATE | syscall.IN_MOVED_TO |
		syscall.IN_MOVED_FROM | syscall.IN_DELETE | syscall.IN_CLOSE_WRITE
	if _, err := syscall.InotifyAddWatch(fd, filepath.Dir(path), mask); err != nil {
		syscall.Close(fd)
		return nil
	}
	// A non-blocking fd goes to the runtime poller: Read parks the goroutine
	// and Close wakes it.
	w := &watcher{f: os.NewFile(uintptr(fd), "inotify"), c: make(chan struct{}, 1), exited: make(chan struct{})}
	go w.run(filepath.Base(path))
	return w
}

func (w *watcher) run(base string) {
	defer close(w.exited)
	buf := make([]byte, 4096)
	for {
		n, err := w.f.Read(buf)
		if err != nil {
			return
		}
		if concerns(buf[:n], base) {
			select {
			case w.c <- struct{}{}:
			default:
			}
		}
	}
}

// concerns reports whether the inotify events in b name base or base+".1",
// or report an overflow.
func concerns(b []byte, base string) bool {
	for len(b) >= syscall.SizeofInotifyEvent {
		mask := binary.NativeEndian.Uint32(b[4:])
		n := int(binary.NativeEndian.Uint32(b[12:]))
		end := min(len(b), syscall.SizeofInotifyEvent+n)
		name := bytes.TrimRight(b[syscall.SizeofInotifyEvent:end], "\x00")
		if mask&syscall.IN_Q_OVERFLOW != 0 || string(name) == base || string(name) == base+".1" {
			return true
		}
		b = b[end:]
	}
	return false
}

// events returns the channel that receives a value after changes; nil (never
// ready) for a nil watcher.
func (w *watcher) events() <-chan struct{} {
	if w == nil {
		return nil
	}
	return w.c
}

// close stops the watcher and waits for its goroutine.
func (w *watcher) close() {
	if w == nil {
		return
	}
	w.f.Close()
	<-w.exited
}
