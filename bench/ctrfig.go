package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// ctrImage is the image the ctr figure imports into containerd.
const ctrImage = "bench.local/ctr-busybox:1"

// ctrd is a containerd started for the ctr figure on a private root, state
// and socket, with both shims (and runsc) on its PATH.
type ctrd struct {
	dir, socket string
	cmd         *exec.Cmd
	done        chan struct{}
}

// ctrdStateDir is containerd's state dir for the figure: nucleusd's config
// allows it as a rootfs source (daemonConfig).
func (e *env) ctrdStateDir() string { return filepath.Join(e.base, "ctrd", "state") }

// ctrFigure is `ctr run --rm` of /bin/true through containerd-shim-nucleus-v2
// against the same through gVisor's containerd-shim-runsc-v1: same
// containerd, same image, alternating pairs.
func ctrFigure(ctx context.Context, e *env) ([]*Figure, error) {
	f := &Figure{Key: "13 ctr run", Title: "ctr run --rm of /bin/true through containerd (Debian's): containerd-shim-nucleus-v2 vs gVisor's containerd-shim-runsc-v1"}
	for _, p := range []struct{ what, path string }{{"containerd", "containerd"}, {"ctr", "ctr"}} {
		if _, err := exec.LookPath(p.path); err != nil {
			f.Notes = append(f.Notes, "skipped: "+p.what+" is not installed (apt-get install containerd)")
			return []*Figure{f}, nil
		}
	}
	for _, p := range []string{e.cfg.shim, e.cfg.runscShim} {
		if _, err := os.Stat(p); err != nil {
			f.Notes = append(f.Notes, fmt.Sprintf("skipped: %v (make bin/containerd-shim-runsc-v1)", err))
			return []*Figure{f}, nil
		}
	}
	c, err := startCtrd(ctx, e)
	if err != nil {
		return nil, err
	}
	defer c.stop()
	if err := c.importImage(ctx, e); err != nil {
		return nil, err
	}
	runtimes := []struct{ name, runtime string }{
		{"ctr run via containerd-shim-runsc-v1", "io.containerd.runsc.v1"},
		{"ctr run via containerd-shim-nucleus-v2", "io.containerd.nucleus.v2"},
	}
	// gVisor's shim sets its server's oom_score_adj to -999, which needs
	// CAP_SYS_RESOURCE: without it (some containers and CI sandboxes) the
	// baseline cannot run at all, and only our side is measured.
	if out, err := c.ctr(ctx, "run", "--rm", "--runtime", runtimes[0].runtime, ctrImage, "probe", "/bin/true"); err != nil {
		f.Notes = append(f.Notes, fmt.Sprintf("baseline unavailable on this host (%v: %s); the nucleus row has no ratio", err, out))
		runtimes = runtimes[1:]
	}
	samples := make([][]time.Duration, len(runtimes))
	cpu := make([][]time.Duration, len(runtimes))
	for i := range e.cfg.pairs {
		for j, r := range runtimes {
			id := fmt.Sprintf("b%d-%d", j, i)
			before := e.cpu.usage()
			begin := time.Now()
			if out, err := c.ctr(ctx, "run", "--rm", "--runtime", r.runtime, ctrImage, id, "/bin/true"); err != nil {
				return []*Figure{f}, fmt.Errorf("%s: %w: %s", r.name, err, out)
			}
			samples[j] = append(samples[j], time.Since(begin))
			cpu[j] = append(cpu[j], e.cpu.usage()-before)
			time.Sleep(e.cfg.settle)
		}
	}
	if len(runtimes) == 1 {
		f.Rows = append(f.Rows, msRow(runtimes[0].name, samples[0]))
		if e.cpu != nil {
			f.Rows = append(f.Rows, cpuMsRow("CPU outside the sandbox, nucleus shim", cpu[0]))
		}
		return []*Figure{f}, nil
	}
	base := msRow(runtimes[0].name, samples[0])
	f.Rows = append(f.Rows, base, msRow(runtimes[1].name, samples[1]).against(base).target("<= 1.0x", ratio(median(samples[1]), median(samples[0])) <= 1.0))
	if e.cpu != nil {
		cbase := cpuMsRow("CPU outside the sandbox, runsc shim", cpu[0])
		f.Rows = append(f.Rows, cbase, cpuMsRow("CPU outside the sandbox, nucleus shim", cpu[1]).against(cbase))
	}
	f.Notes = append(f.Notes, "both shims are started by the same containerd (overlayfs snapshotter) for each run; the nucleus row includes nucleusd, its supervisor and the log follow; CPU rows: the benchmark's cpuacct group (containerd, ctr, shims, nucleusd, supervisors), not the sandboxes")
	return []*Figure{f}, nil
}

func median(d []time.Duration) float64 { return summarize(d).Median }

// cpuMsRow is an msRow of CPU time.
func cpuMsRow(name string, d []time.Duration) *Row {
	r := msRow(name, d)
	r.Unit = "ms cpu"
	return r
}

func startCtrd(ctx context.Context, e *env) (*ctrd, error) {
	dir := filepath.Join(e.base, "ctrd")
	bin := filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o711); err != nil {
		return nil, err
	}
	for name, target := range map[string]string{
		"containerd-shim-nucleus-v2": e.cfg.shim, "containerd-shim-runsc-v1": e.cfg.runscShim, "runsc": e.cfg.runsc,
	} {
		if err := os.Symlink(target, filepath.Join(bin, name)); err != nil {
			return nil, err
		}
	}
	c := &ctrd{dir: dir, socket: filepath.Join(dir, "containerd.sock"), done: make(chan struct{})}
	conf := filepath.Join(dir, "config.toml")
	cfg := fmt.Sprintf("version = 2\nroot = %q\nstate = %q\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n[grpc]\n  address = %q\n[ttrpc]\n  address = %q\n",
		filepath.Join(dir, "root"), e.ctrdStateDir(), c.socket, c.socket+".ttrpc")
	if err := os.WriteFile(conf, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "containerd.log"))
	if err != nil {
		return nil, err
	}
	c.cmd = exec.Command("containerd", "--config", conf)
	c.cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "NUCLEUS_ADDRESS=unix://"+e.sock)
	c.cmd.Stdout, c.cmd.Stderr = logf, logf
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := c.cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	go func() { _ = c.cmd.Wait(); logf.Close(); close(c.done) }()
	for deadline := time.Now().Add(30 * time.Second); ; {
		if _, err := c.ctr(ctx, "version"); err == nil {
			return c, nil
		}
		if time.Now().After(deadline) {
			c.stop()
			return nil, errors.New("containerd did not answer within 30s (see " + filepath.Join(dir, "containerd.log") + ")")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (c *ctrd) ctr(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ctr", append([]string{"--address", c.socket, "--namespace", "bench"}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return strings.TrimSpace(out.String()), err
}

// importImage imports the busybox image as a docker archive.
func (c *ctrd) importImage(ctx context.Context, e *env) error {
	layer, err := busyboxLayer()
	if err != nil {
		return err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Config = "linux", "amd64", v1.Config{Cmd: []string{"/bin/sh"}, Env: []string{"PATH=/bin"}}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return err
	}
	ref, err := name.NewTag(ctrImage)
	if err != nil {
		return err
	}
	path := filepath.Join(c.dir, "image.tar")
	if err := tarball.WriteToFile(path, ref, img); err != nil {
		return err
	}
	if out, err := c.ctr(ctx, "image", "import", path); err != nil {
		return fmt.Errorf("ctr image import: %w: %s", err, out)
	}
	return nil
}

// stop removes what the figure left (tasks, containers) and ends
// containerd; the shims exit with their tasks.
func (c *ctrd) stop() {
	ctx := context.Background()
	if out, err := c.ctr(ctx, "task", "ls", "-q"); err == nil {
		for _, id := range strings.Fields(out) {
			_, _ = c.ctr(ctx, "task", "rm", "-f", id)
		}
	}
	if out, err := c.ctr(ctx, "c", "ls", "-q"); err == nil {
		for _, id := range strings.Fields(out) {
			_, _ = c.ctr(ctx, "c", "rm", id)
		}
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(15 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
	if data, err := os.ReadFile("/proc/self/mounts"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if f := strings.Fields(line); len(f) > 1 && strings.HasPrefix(f[1], c.dir) {
				_ = syscall.Unmount(f[1], syscall.MNT_DETACH)
			}
		}
	}
}
