package network

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"nucleus.dev/nucleus/sandbox/netns"
)

// spareCount is how many fresh network namespaces wait for containers.
// Making one (unshare) is the most expensive part of an attach; a spare
// made in the background after the previous attach turns it into two
// mount calls on the answer path.
const spareCount = 2

// spares keeps fresh, never used network namespaces (loopback up, nothing
// else) pinned in their own directory, made in the background. They hold
// nothing of any container: a crash leaves only empty namespaces, which
// Reconcile removes with the rest of the directory.
type spares struct {
	dir   string
	log   *zap.Logger
	ready chan string // pinned paths
	kick  chan struct{}
	stop  chan struct{}
	wg    sync.WaitGroup
	seq   int // refill goroutine only
}

func newSpares(dir string, log *zap.Logger) (*spares, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("network: spare namespace directory: %w", err)
	}
	s := &spares{dir: dir, log: log, ready: make(chan string, spareCount), kick: make(chan struct{}, 1), stop: make(chan struct{})}
	s.wg.Add(1)
	go s.refill()
	return s, nil
}

// refill tops the pool up whenever it is kicked (after each take), so
// spares are only made once containers use the network.
func (s *spares) refill() {
	defer s.wg.Done()
	for {
		select {
		case <-s.stop:
			return
		case <-s.kick:
		}
		for len(s.ready) < cap(s.ready) {
			s.seq++
			path := filepath.Join(s.dir, "spare-"+strconv.Itoa(s.seq))
			if err := netns.Create(path); err != nil {
				s.log.Warn("making a spare network namespace", zap.Error(err))
				break
			}
			select {
			case s.ready <- path:
			case <-s.stop:
				_ = netns.Remove(path)
				return
			}
		}
	}
}

// take pins a spare namespace at path (a file it creates) and reports
// whether it did; without a spare the caller makes one itself.
func (s *spares) take(path string) bool {
	defer s.wakeRefill()
	var spare string
	select {
	case spare = <-s.ready:
	default:
		return false
	}
	defer func() { _ = netns.Remove(spare) }()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDONLY, 0o600)
	if err != nil {
		return false
	}
	f.Close()
	if err := unix.Mount(spare, path, "", unix.MS_BIND, ""); err != nil {
		s.log.Warn("pinning a spare network namespace", zap.String("path", path), zap.Error(err))
		_ = os.Remove(path)
		return false
	}
	return true
}

func (s *spares) wakeRefill() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// clear removes every spare: the pooled ones and any file in the
// directory (a previous daemon's). The refill goroutine may add more later.
func (s *spares) clear() error {
	for {
		select {
		case p := <-s.ready:
			_ = netns.Remove(p)
			continue
		default:
		}
		break
	}
	ents, err := os.ReadDir(s.dir)
	if errors.Is(err, os.ErrNotExist) { // closed
		return nil
	}
	if err != nil {
		return fmt.Errorf("network: listing %s: %w", s.dir, err)
	}
	var errs []error
	for _, e := range ents {
		errs = append(errs, netns.Remove(filepath.Join(s.dir, e.Name())))
	}
	return errors.Join(errs...)
}

// close stops the refill and removes the spares and their directory.
func (s *spares) close() {
	close(s.stop)
	s.wg.Wait()
	if err := s.clear(); err != nil {
		s.log.Warn("removing spare network namespaces", zap.Error(err))
	}
	_ = os.Remove(s.dir)
}
