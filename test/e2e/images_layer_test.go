package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/client"
	"nucleus.dev/nucleus/internal/testutil"
)

// treeDigest hashes every path, mode, owner, size and content under dir.
func treeDigest(t *testing.T, dir string) string {
	t.Helper()
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %o %d:%d %d %d\n", strings.TrimPrefix(p, dir), st.Mode, st.Uid, st.Gid, st.Size, st.Mtim.Nano())
		if e.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			h.Write(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

// runBoth runs a and b at once, attached, and returns their stdout and
// stderr.
func runResult(t *testing.T, c *client.Client, spec *nucleusv1.ContainerSpec) (string, string, int32) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, errb bytes.Buffer
	spec.AutoRemove = true
	st, _, err := c.Run(ctx, spec, client.RunOptions{Stdout: &out, Stderr: &errb})
	if err != nil {
		t.Errorf("run %v: %v", spec.GetArgs(), err)
		return "", "", -1
	}
	return out.String(), errb.String(), st.GetExitCode()
}

// TestE2EImagesWritableLayer: two containers of one image write the same
// path at the same time and neither sees the other's write; the non-root
// USER writes its home; a container that fills its writable layer (--disk)
// gets ENOSPC; the image tree on the host is unchanged by all of it, and
// nothing was written under the daemon's root.
func TestE2EImagesWritableLayer(t *testing.T) {
	testutil.E2E(t)
	reg := startRegistry(t)
	ref := reg.push(t, "private/app:v1", appImage(t))
	d := StartDaemon(t, DaemonOptions{Config: reg.imagesConfig(t, "")})
	c := d.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	img, err := c.PullImage(ctx, ref, nil)
	if err != nil {
		t.Fatal(err)
	}
	tree := filepath.Join(d.Root, "images", "rootfs", strings.TrimPrefix(img.GetDigest(), "sha256:"))
	before := treeDigest(t, tree)
	duBefore := diskUsage(t, d.Root)

	var wg sync.WaitGroup
	outs := make([]string, 2)
	for i, who := range []string{"first", "second"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			script := fmt.Sprintf("echo %s > /data/a && sleep 1 && cat /data/a", who)
			outs[i], _, _ = runResult(t, c, &nucleusv1.ContainerSpec{Image: ref, Args: []string{script}, ImageUser: "root"})
		}()
	}
	wg.Wait()
	for i, who := range []string{"first", "second"} {
		if want := who + "\n"; outs[i] != want {
			t.Errorf("container %s saw %q, want %q (only its own writes)", who, outs[i], want)
		}
	}
	// USER app owns its home in the image, and may write there.
	if out := runOut(t, c, &nucleusv1.ContainerSpec{Image: ref, Args: []string{"echo mine > /home/app/f && cat /home/app/f && stat -c %u:%g /home/app"}}); out != "mine\n1234:1234\n" {
		t.Errorf("app writing its home: %q", out)
	}
	if out := runOut(t, c, &nucleusv1.ContainerSpec{Image: ref, Args: []string{"cat /data/a; ls /home/app"}}); out != "alpha\n" {
		t.Errorf("a new container sees %q, want the image's /data/a and an empty home", out)
	}

	// 64 MiB into an 8 MiB layer: ENOSPC inside.
	out, errOut, code := runResult(t, c, &nucleusv1.ContainerSpec{Image: ref, ImageUser: "root",
		Args:      []string{"dd if=/dev/zero of=/data/big bs=1M count=64 2>&1; echo rc=$?; wc -c < /data/big"},
		Resources: &nucleusv1.Resources{DiskBytes: 8 << 20}})
	if code != 0 || !strings.Contains(out, "No space left on device") || !strings.Contains(out, "rc=1") {
		t.Errorf("filling an 8 MiB layer: exit %d, stdout %q, stderr %q; want ENOSPC from dd", code, out, errOut)
	}
	var n int64
	if _, err := fmt.Sscan(out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:], &n); err != nil || n > 8<<20 {
		t.Errorf("the file reached %d bytes (%v); the layer holds at most 8 MiB", n, err)
	}

	// The Files API works on an image's container: its helper's mount
	// point is in every unpacked tree; the upload lands in the container's
	// layer, not in the shared tree.
	live, err := c.RunDetached(ctx, &nucleusv1.ContainerSpec{Image: ref, ImageUser: "root", Args: []string{"sleep 60"}})
	if err != nil {
		t.Fatal(err)
	}
	payload := []byte("uploaded\x00through the helper\n")
	if _, err := c.WriteFile(ctx, live.GetId(), "/data/up", bytes.NewReader(payload), client.FileOptions{}); err != nil {
		t.Fatalf("WriteFile into an image container: %v", err)
	}
	var back bytes.Buffer
	if _, err := c.ReadFile(ctx, live.GetId(), "/data/up", &back); err != nil || !bytes.Equal(back.Bytes(), payload) {
		t.Errorf("ReadFile from an image container: %q %v", back.Bytes(), err)
	}
	if _, err := c.Delete(ctx, live.GetId(), true); err != nil {
		t.Fatal(err)
	}

	if after := treeDigest(t, tree); after != before {
		t.Errorf("the image tree on the host changed")
	}
	// Every container's id-mapped root is unmounted once it is removed
	// (auto_remove cleans up in the background within moments).
	deadline := time.Now().Add(20 * time.Second)
	for mountsUnder(t, d.Root) > 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if n := mountsUnder(t, d.Root); n > 0 {
		t.Errorf("%d mounts remain under the daemon's root after every container was removed", n)
	}
	// Logs and records grow a little; the 64 MiB written did not land.
	if grown := diskUsage(t, d.Root) - duBefore; grown > 4<<20 {
		t.Errorf("the daemon's root grew by %d bytes while containers wrote into their layers", grown)
	}
}

// diskUsage is the bytes of the blocks allocated under dir.
func diskUsage(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	_ = filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		var st unix.Stat_t
		if err == nil && unix.Lstat(p, &st) == nil {
			n += st.Blocks * 512
		}
		return nil
	})
	return n
}

// mountsUnder counts the mounts of this mount namespace below dir.
func mountsUnder(t *testing.T, dir string) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
			n++
		}
	}
	return n
}
