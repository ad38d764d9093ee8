package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/client"
	"nucleus.dev/nucleus/internal/errdefs"
)

// execOut runs argv in container id and returns its stdout.
func execOut(t *testing.T, ctx context.Context, c *client.Client, id string, argv ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	code, err := c.Exec(ctx, client.ExecOptions{ID: id, Args: argv, Stdout: &out, Stderr: &errb})
	if err != nil || code != 0 {
		t.Fatalf("exec %q: code %d, %v: %s", argv, code, err, errb.String())
	}
	return out.String()
}

func TestE2EFilesBasics(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{Config: "[limits]\nmax_file_bytes = \"8m\"\nmax_dir_entries = 50\n"})
	c := d.Client()
	ctx := ctxT(t, 120*time.Second)
	ct := running(t, c, ctx, "sleep 600")
	id := ct.GetId()

	// Binary data round-trips: random bytes with NULs, mode and owner kept.
	data := make([]byte, 3<<20+17)
	_, _ = rand.Read(data)
	data[0], data[1000] = 0, 0
	info, err := c.WriteFile(ctx, id, "/tmp/blob", bytes.NewReader(data), client.FileOptions{Mode: 0o640, UID: 1234, GID: 99, SetOwner: true})
	if err != nil {
		t.Fatal(err)
	}
	if info.GetSize() != uint64(len(data)) || info.GetMode()&0o7777 != 0o640 || info.GetUid() != 1234 || info.GetGid() != 99 {
		t.Fatalf("written: %v", info)
	}
	if got := execOut(t, ctx, c, id, "stat", "-c", "%a %u %g %s", "/tmp/blob"); got != "640 1234 99 3145745\n" {
		t.Fatalf("stat in the container: %q", got)
	}
	var back bytes.Buffer
	if _, err := c.ReadFile(ctx, id, "/tmp/blob", &back); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back.Bytes(), data) {
		t.Fatalf("read back %d bytes, not identical to the %d written", back.Len(), len(data))
	}

	// A name with a space, a newline and non-UTF-8 bytes.
	odd := "/tmp/a b\nc\xff"
	if _, err := c.WriteFile(ctx, id, strings.ToValidUTF8(odd, "?"), strings.NewReader("x"), client.FileOptions{}); err != nil {
		t.Fatal(err)
	}
	ents, err := c.ListDir(ctx, id, "/tmp")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.GetName())
	}
	if len(ents) != 2 || names[0] != "a b\nc?" || names[1] != "blob" {
		t.Fatalf("ls /tmp: %q", names)
	}

	// Over the cap: ResourceExhausted and the old file left whole.
	big := make([]byte, 8<<20+1)
	if _, err := c.WriteFile(ctx, id, "/tmp/blob", bytes.NewReader(big), client.FileOptions{}); !errors.Is(err, errdefs.ErrResourceExhausted) {
		t.Fatalf("write over the cap: %v", err)
	}
	back.Reset()
	if _, err := c.ReadFile(ctx, id, "/tmp/blob", &back); err != nil || !bytes.Equal(back.Bytes(), data) {
		t.Fatalf("after the refused write: %v, %d bytes", err, back.Len())
	}
	if got := execOut(t, ctx, c, id, "ls", "-a", "/tmp"); strings.Contains(got, ".nucleus-fs") {
		t.Fatalf("a temporary file was left: %q", got)
	}
	execOut(t, ctx, c, id, "truncate", "-s", "9m", "/tmp/sparse")
	if _, err := c.ReadFile(ctx, id, "/tmp/sparse", &back); !errors.Is(err, errdefs.ErrResourceExhausted) {
		t.Fatalf("read over the cap: %v", err)
	}

	// The other calls.
	if err := c.MakeDir(ctx, id, "/tmp/d/e", 0o700, true); err != nil {
		t.Fatal(err)
	}
	if err := c.RenamePath(ctx, id, "/tmp/d", "/tmp/f"); err != nil {
		t.Fatal(err)
	}
	st, err := c.StatFile(ctx, id, "/tmp/f/e")
	if err != nil || st.GetMode() != 0o040700 {
		t.Fatalf("stat /tmp/f/e: %v %v", st, err)
	}
	if err := c.RemovePath(ctx, id, "/tmp/f", false); !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Fatalf("rm of a non-empty dir: %v", err)
	}
	if err := c.RemovePath(ctx, id, "/tmp/f", true); err != nil {
		t.Fatal(err)
	}
	if _, err := c.StatFile(ctx, id, "/tmp/f"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("stat after rm: %v", err)
	}
	if _, err := c.ReadFile(ctx, id, "/dev/zero", &back); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Fatalf("read /dev/zero: %v", err)
	}
	if _, err := c.StatFile(ctx, id, "relative"); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Fatalf("relative path: %v", err)
	}
	if !strings.Contains(d.Log(), `"op":"write"`) || !strings.Contains(d.Log(), `"caller":"uid:0"`) {
		t.Errorf("files calls are not logged with op and caller")
	}
	_ = nucleusv1.FileInfo{}
}
