package sandbox

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/sandbox/netns"
	"nucleus.dev/nucleus/sandbox/runsc"
	"nucleus.dev/nucleus/sandbox/supervisor"
)

// DeleteOptions tune Delete.
type DeleteOptions struct {
	// Force kills a running or paused container first; without it, deleting
	// one is a FailedPrecondition.
	Force bool
	// KeepLogs keeps container.log (and .1) in the container directory.
	KeepLogs bool
}

// Delete removes everything of the container: the sandbox (killed if Force),
// its runsc state, the supervisor and its directory, the bundle and secrets
// (Config.RemoveBundle), exit.json and, unless KeepLogs, the logs. Deleting
// a container that is already gone succeeds.
func (m *Manager) Delete(ctx context.Context, id string, o DeleteOptions) error {
	return m.DeleteAll(ctx, []string{id}, o)[0]
}

// DeleteAll is Delete for several containers, with one runsc process for
// all of their runsc state instead of one each: what a burst of removals
// costs the host. It returns one error per id (nil when it is gone).
func (m *Manager) DeleteAll(ctx context.Context, ids []string, o DeleteOptions) []error {
	errs := make([]error, len(ids))
	var claimed []int
	for i, id := range ids {
		release, err := m.claimForDelete(ctx, id, o)
		if err != nil {
			errs[i] = err
			continue
		}
		defer release()
		claimed = append(claimed, i)
	}
	runscIDs := make([]string, 0, len(claimed))
	for _, i := range claimed {
		runscIDs = append(runscIDs, ids[i])
	}
	for id, err := range m.deleteRunscState(ctx, runscIDs) {
		for _, i := range claimed {
			if ids[i] == id {
				errs[i] = err
			}
		}
	}
	for _, i := range claimed {
		if errs[i] == nil {
			errs[i] = m.removeFiles(ids[i], o)
		}
	}
	return errs
}

// claimForDelete stops the container (with Force), waits for its
// supervisor to end and takes the supervisor lock, held until release: a
// supervisor spawned but not started yet then never runs runsc for id.
func (m *Manager) claimForDelete(ctx context.Context, id string, o DeleteOptions) (release func(), err error) {
	if err := supervisor.ValidID(id); err != nil {
		return nil, err
	}
	p := m.Paths(id)
	for attempt := 0; ; attempt++ {
		if err := m.stopForDelete(ctx, id, o); err != nil {
			return nil, err
		}
		release, busy, err := supervisor.Claim(p.Supervisor)
		if err != nil {
			return nil, fmt.Errorf("delete %s: %w", id, err)
		}
		if !busy {
			return release, nil
		}
		if attempt == 10 {
			return nil, errdefs.Unavailable("delete %s: a supervisor is still starting; try again", id)
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return nil, err
		}
	}
}

// deleteRunscState removes the runsc state of ids: in nucleusd (Direct)
// when it can, else with `runsc delete --force`, in one process when there
// are several; it returns the ids it could not delete. runsc stops
// at the first id it has no state for, so what still has state afterwards
// is deleted one by one.
func (m *Manager) deleteRunscState(ctx context.Context, ids []string) map[string]error {
	failed := map[string]error{}
	if m.cfg.Direct != nil {
		// In nucleusd, no runsc process at all; what fails there is left
		// to runsc below.
		var left []string
		for _, id := range ids {
			if err := m.cfg.Direct.Delete(id); err != nil {
				m.log.Info("deleting runsc state in process failed; running runsc delete", zap.String("id", id), zap.Error(err))
				left = append(left, id)
			}
		}
		ids = left
	}
	if len(ids) > 1 {
		if err := m.runsc.DeleteAll(ctx, ids); err != nil {
			m.log.Info("batched runsc delete failed; deleting one by one", zap.Strings("ids", ids), zap.Error(err))
		}
		var left []string
		for _, id := range ids {
			if m.runsc.HasState(id) {
				left = append(left, id)
			}
		}
		ids = left
	}
	for _, id := range ids {
		if err := m.runsc.Delete(ctx, id, true); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
			failed[id] = fmt.Errorf("delete %s: %w", id, err)
		}
	}
	return failed
}

// removeFiles removes what is left of a container once runsc has no state
// for it: the supervisor directory, bundle, network namespace, exit and
// meta files, logs (unless KeepLogs) and runsc's lock files.
func (m *Manager) removeFiles(id string, o DeleteOptions) error {
	p := m.Paths(id).withBundleFound()
	if err := removeAllAtomic(p.Supervisor); err != nil {
		return err
	}
	if err := m.removeCgroup(id, p); err != nil {
		return fmt.Errorf("delete %s: %w", id, err)
	}
	remove := m.cfg.RemoveBundle
	if remove == nil {
		remove = removeBundle
	}
	if err := remove(id, p); err != nil {
		return fmt.Errorf("delete %s: removing bundle: %w", id, err)
	}
	if err := netns.Remove(p.NetNS); err != nil {
		return fmt.Errorf("delete %s: %w", id, err)
	}
	files := []string{p.Exit, p.Meta, p.Meta + ".tmp"}
	if !o.KeepLogs {
		files = append(files, p.Log, p.Log+".1")
	}
	for _, f := range files {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	if !o.KeepLogs {
		if err := os.Remove(p.Container); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("delete %s: %w", id, err)
		}
	}
	// Last, once nothing makes a status query run `runsc state` for id any
	// more (that takes runsc's lock file): runsc has no state for id, and a
	// create interrupted before writing one leaves its lock file behind.
	locks, _ := filepath.Glob(filepath.Join(m.runsc.Root, id+"_sandbox:*.lock"))
	for _, l := range locks {
		if err := os.Remove(l); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("delete %s: %w", id, err)
		}
	}
	m.log.Info("container deleted", zap.String("id", id))
	return nil
}

// stopForDelete stops the container (with Force) and waits for its
// supervisor to end.
func (m *Manager) stopForDelete(ctx context.Context, id string, o DeleteOptions) error {
	st, err := m.Status(ctx, id)
	switch {
	case errors.Is(err, errdefs.ErrNotFound):
	case err != nil:
		return err
	case st.Exit == nil && st.State != specs.StateCreated && !o.Force:
		return errdefs.FailedPrecondition("container %s is %s; stop it or delete with force", id, st.State)
	case st.Exit == nil:
		if st.State == runsc.StatePaused {
			_ = m.runsc.Resume(ctx, id) // a frozen sandbox dies slowly
		}
		if _, err := m.Stop(ctx, id, 0); err != nil {
			return fmt.Errorf("delete %s: stopping: %w", id, err)
		}
	}
	return m.endSupervisor(ctx, id)
}

// endSupervisor waits for the supervisor to be done with the container
// after it exited - to leave its directory, by exiting or (reused) by going
// back to the daemon's free supervisors - and kills it if it lingers there
// (it has recorded the exit status by then). A reused supervisor that has
// left is never killed: it may be supervising another container already.
func (m *Manager) endSupervisor(ctx context.Context, id string) error {
	pid, err := lingering(ctx, m.Paths(id).Supervisor, 10*time.Second)
	if err != nil || pid == 0 {
		return err
	}
	m.log.Warn("supervisor lingers after its container; killing it and its session", zap.String("id", id), zap.Int("pid", pid))
	killSession(pid) // a runsc child must not outlive it and run on
	_, err = waitPid(ctx, pid, 5*time.Second)
	return err
}

// lingering waits up to d for the live supervisor in dir, if any, to leave
// it (its pid file gone, or the process it names elsewhere or dead); it
// returns the pid of one still there at the end, 0 when none is.
func lingering(ctx context.Context, dir string, d time.Duration) (int, error) {
	deadline := time.Now().Add(d)
	pause := time.Millisecond
	for {
		pid, alive := supervisor.Running(dir)
		if !alive {
			return 0, nil
		}
		if time.Now().After(deadline) {
			return pid, nil
		}
		if err := sleep(ctx, pause); err != nil {
			return 0, err
		}
		pause = min(2*pause, 50*time.Millisecond)
	}
}

// killSession SIGKILLs every process in session sid (a supervisor is a
// session leader; its runsc commands run in its session).
func killSession(sid int) {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, path := range stats {
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		// "pid (comm) state ppid pgrp session ...": fields after the last ')'.
		s := string(data)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 4 {
			continue
		}
		if sess, err := strconv.Atoi(f[3]); err == nil && sess == sid {
			if pid, err := strconv.Atoi(filepath.Base(filepath.Dir(path))); err == nil {
				_ = unix.Kill(pid, unix.SIGKILL)
			}
		}
	}
}

// waitPid waits up to d for pid to exit, through a pidfd (no polling);
// it reports whether it did.
func waitPid(ctx context.Context, pid int, d time.Duration) (bool, error) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return errors.Is(err, unix.ESRCH), nil // already gone
	}
	defer unix.Close(fd)
	deadline := time.Now().Add(d)
	for {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return false, nil
		}
		// Wake at least every 100ms to notice ctx.
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, int(min(left, 100*time.Millisecond)/time.Millisecond)+1)
		if err != nil && !errors.Is(err, unix.EINTR) {
			return false, err
		}
		if n > 0 {
			return true, nil
		}
	}
}

// removeBundle is the built-in bundle removal: unmount whatever is mounted
// under the bundle and secrets directories (deepest first), then remove them.
func removeBundle(_ string, p Paths) error {
	for _, dir := range []string{p.Bundle, p.Secrets} {
		if err := unmountUnder(dir); err != nil {
			return err
		}
		if err := removeAllAtomic(dir); err != nil {
			return err
		}
	}
	return nil
}

// removeCgroup removes the container's host cgroup (its bundle's
// linux.cgroupsPath) where it is left: runsc removes it when it destroys a
// sandbox it has state for, but a create that failed before runsc wrote
// any leaves it behind. Read before the bundle goes; a cgroup path that
// does not end in the container's id is not touched. The hierarchies'
// mount points are the Manager's, read once.
func (m *Manager) removeCgroup(id string, p Paths) error {
	data, err := os.ReadFile(filepath.Join(p.Bundle, "config.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	// Only the cgroup path: decoding the whole spec cost more than the
	// removal.
	var spec struct {
		Linux *struct {
			CgroupsPath string `json:"cgroupsPath"`
		} `json:"linux"`
	}
	if err := json.Unmarshal(data, &spec); err != nil {
		return fmt.Errorf("reading the bundle's cgroup path: %w", err)
	}
	if spec.Linux == nil || spec.Linux.CgroupsPath == "" || filepath.Base(spec.Linux.CgroupsPath) != id {
		return nil
	}
	mounts, err := m.cgroups.Get()
	if err != nil {
		return err
	}
	return mounts.Remove(spec.Linux.CgroupsPath)
}

// unmountUnder detaches every mount at or below dir.
func unmountUnder(dir string) error {
	mounts, err := MountsUnder(dir)
	if err != nil {
		return err
	}
	sort.Slice(mounts, func(i, j int) bool { return len(mounts[i]) > len(mounts[j]) })
	for _, mnt := range mounts {
		if err := unix.Unmount(mnt, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("unmounting %s: %w", mnt, err)
		}
	}
	return nil
}

// MountsUnder lists the mount points at or below dir (from
// /proc/self/mountinfo).
func MountsUnder(dir string) ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	dir = filepath.Clean(dir)
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mnt := unescapeMount(fields[4])
		if mnt == dir || strings.HasPrefix(mnt, dir+"/") {
			out = append(out, mnt)
		}
	}
	return out, sc.Err()
}

// unescapeMount undoes mountinfo's octal escapes (\040 for space, ...).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// removeAllAtomic renames dir to a dot-name first, so a crash mid-removal
// never leaves a half-deleted directory under its real name, then removes it.
func removeAllAtomic(dir string) error {
	if _, err := os.Lstat(dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	tmp := filepath.Join(filepath.Dir(dir), "."+filepath.Base(dir)+".deleting")
	if err := os.Rename(dir, tmp); err != nil {
		return err
	}
	return os.RemoveAll(tmp)
}
