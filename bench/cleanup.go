package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"nucleus.dev/nucleus/sandbox"
)

// cleanup removes everything the run made: containers through the API,
// then nucleusd, then whatever runsc state, processes and mounts are left
// under the temporary directory, then the directory. It reports what it
// had to force.
func (e *env) cleanup() []string {
	var notes []string
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if e.c != nil && e.daemonPid() != 0 {
		if n, err := e.deleteAll(ctx); err != nil {
			notes = append(notes, fmt.Sprintf("deleting %d containers through the API: %v", n, err))
		}
	}
	e.stopDaemon()
	if e.c != nil {
		_ = e.c.Close()
	}
	for _, root := range []string{filepath.Join(e.stateDir, "runsc"), e.raw.root} {
		if ids := runscList(e.cfg.runsc, root); len(ids) > 0 {
			notes = append(notes, fmt.Sprintf("%d runsc containers left in %s; deleted with --force", len(ids), root))
			for _, id := range ids {
				_ = e.raw.command(context.Background(), root, "delete", "--force", id).Run()
			}
		}
	}
	if pids := processesUnder(e.base); len(pids) > 0 {
		notes = append(notes, fmt.Sprintf("%d processes still referred to %s; killed", len(pids), e.base))
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if n, err := unmountUnder(e.base); err != nil {
		notes = append(notes, fmt.Sprintf("unmounting under %s: %v", e.base, err))
	} else if n > 0 {
		notes = append(notes, fmt.Sprintf("unmounted %d mounts under %s (runsc's null-netns included)", n, e.base))
	}
	if n := e.removeCgroups(); n > 0 {
		notes = append(notes, fmt.Sprintf("removed %d empty cgroups left behind by this run's containers", n))
	}
	if err := e.cpu.close(); err != nil {
		notes = append(notes, fmt.Sprintf("removing the cpuacct group: %v", err))
	}
	if e.daemonLog != nil {
		_ = e.daemonLog.Close()
	}
	if e.cfg.keep {
		notes = append(notes, "kept "+e.base)
	} else if err := os.RemoveAll(e.base); err != nil {
		notes = append(notes, fmt.Sprintf("removing %s: %v", e.base, err))
	}
	return notes
}

// deleteAll force-deletes every container the daemon has.
func (e *env) deleteAll(ctx context.Context) (int, error) {
	list, err := e.c.List(ctx, nil)
	if err != nil {
		return 0, err
	}
	ids := make([]string, 0, len(list))
	for _, c := range list {
		ids = append(ids, c.GetId())
	}
	return len(ids), forEach(ids, 4, func(id string) error {
		_, err := e.c.Delete(ctx, id, true)
		return err
	})
}

// forEach runs fn on every item with at most par at a time and returns the
// first error.
func forEach[T any](items []T, par int, fn func(T) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	sem := make(chan struct{}, par)
	for _, it := range items {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := fn(it); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return first
}

func (e *env) stopDaemon() {
	if e.daemonPid() == 0 {
		return
	}
	_ = e.daemon.Process.Signal(syscall.SIGTERM)
	select {
	case <-e.daemonDone:
	case <-time.After(20 * time.Second):
		_ = e.daemon.Process.Kill()
		<-e.daemonDone
	}
	e.daemon = nil
}

// runscList returns the ids runsc knows in root.
func runscList(bin, root string) []string {
	if _, err := os.Stat(root); err != nil {
		return nil
	}
	out, err := (&raw{bin: bin}).command(context.Background(), root, "list", "--quiet").Output()
	if err != nil {
		return nil
	}
	return strings.Fields(string(out))
}

// processesUnder lists the pids whose command line mentions dir: the
// supervisors, sandboxes and gofers started for this run.
func processesUnder(dir string) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, ent := range entries {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", ent.Name(), "cmdline"))
		if err == nil && strings.Contains(string(cmdline), dir) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// unmountUnder detaches every mount at or below dir, deepest first.
func unmountUnder(dir string) (int, error) {
	points, err := sandbox.MountsUnder(dir)
	if err != nil {
		return 0, err
	}
	sort.Slice(points, func(i, j int) bool { return len(points[i]) > len(points[j]) })
	var errs []string
	for _, p := range points {
		if err := unix.Unmount(p, unix.MNT_DETACH); err != nil && err != unix.EINVAL && err != unix.ENOENT {
			errs = append(errs, fmt.Sprintf("%s: %v", p, err))
		}
	}
	if len(errs) > 0 {
		return len(points), fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return len(points), nil
}

// containerIDRe finds the container ids in nucleusd's log.
var containerIDRe = regexp.MustCompile(`"id":"([0-9a-f]{32})"`)

// removeCgroups removes the empty cgroup directories named after this
// run's containers (nucleusd's, found in its log, and the raw ones) under
// every cgroup v1 controller: runsc sometimes leaves one behind.
func (e *env) removeCgroups() int {
	ids := map[string]bool{}
	if data, err := os.ReadFile(filepath.Join(e.base, "nucleusd.log")); err == nil {
		for _, m := range containerIDRe.FindAllSubmatch(data, -1) {
			ids[string(m[1])] = true
		}
	}
	n := 0
	dirs, _ := filepath.Glob("/sys/fs/cgroup/*/nucleus/*")
	for _, d := range dirs {
		name := filepath.Base(d)
		if !ids[name] && !strings.HasPrefix(name, e.raw.idPrefix()) {
			continue
		}
		if unix.Rmdir(d) == nil {
			n++
		}
	}
	return n
}
