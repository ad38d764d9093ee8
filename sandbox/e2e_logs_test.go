package sandbox

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"
	"time"

	"nucleus.dev/nucleus/sandbox/internal/testbundle"
)

// 10 MB of random bytes (every byte value: newlines, CRs, escapes, NULs)
// across stdout and stderr, written concurrently, come back byte-exact.
func TestE2ELogs10MBByteExact(t *testing.T) {
	e := newEnv(t)
	data := t.TempDir()
	want := map[string][]byte{}
	for _, stream := range []string{"stdout", "stderr"} {
		b := make([]byte, 5<<20)
		if _, err := rand.Read(b); err != nil {
			t.Fatal(err)
		}
		want[stream] = b
		if err := os.WriteFile(filepath.Join(data, stream), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	id, _, took := e.run("cat /data/stdout & cat /data/stderr >&2; wait",
		CreateOptions{LogMaxBytes: 64 << 20}, testbundle.Options{Binds: map[string]string{"/data": data}})
	start := time.Now()
	ex := e.wait(id, 60*time.Second)
	t.Logf("create+start %v; 10 MiB captured and exit recorded %v after start returned", took, time.Since(start))
	if ex.ExitCode != 0 {
		t.Fatalf("exit %+v", ex)
	}
	got := e.logs(id)
	for _, stream := range []string{"stdout", "stderr"} {
		if !bytes.Equal(got[stream], want[stream]) {
			t.Errorf("%s: got %d bytes sha256 %x, want %d bytes sha256 %x", stream,
				len(got[stream]), sha256.Sum256(got[stream]), len(want[stream]), sha256.Sum256(want[stream]))
		}
	}
	var onDisk int64
	for _, f := range []string{e.m.Paths(id).Log, e.m.Paths(id).Log + ".1"} {
		if fi, err := os.Stat(f); err == nil {
			onDisk += fi.Size()
		}
	}
	t.Logf("10 MiB of output take %d bytes of log", onDisk)
}

// `yes` writes as fast as it can; the log never exceeds its cap.
func TestE2ELogCapHoldsAgainstYes(t *testing.T) {
	e := newEnv(t)
	const limit = 1 << 20
	id, _, _ := e.run("yes", CreateOptions{LogMaxBytes: limit}, testbundle.Options{})
	p := e.m.Paths(id)
	size := func() int64 {
		var n int64
		for _, f := range []string{p.Log, p.Log + ".1"} {
			if fi, err := os.Stat(f); err == nil {
				n += fi.Size()
			}
		}
		return n
	}
	var peak int64
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if n := size(); n > peak {
			peak = n
		}
		time.Sleep(20 * time.Millisecond)
	}
	st, err := e.m.Stats(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	ex, err := e.m.Stop(context.Background(), id, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if n := size(); n > peak {
		peak = n
	}
	t.Logf("peak log size %d bytes for a cap of %d; yes used %.2fs CPU; exit %+v", peak, limit, float64(st.CPUUsageNanos)/1e9, ex)
	if peak > limit {
		t.Fatalf("log reached %d bytes, cap %d", peak, limit)
	}
	if peak < limit/2 {
		t.Fatalf("log only reached %d bytes: was output captured at all?", peak)
	}
	logs := e.logs(id)
	tail := logs["stdout"]
	if len(tail) < 1000 || !bytes.HasSuffix(bytes.TrimRight(tail, "\n"), []byte("y")) {
		t.Fatalf("stdout tail %q", tail[max(0, len(tail)-20):])
	}
	if !bytes.Contains(tail[:100], []byte("y\ny\n")) {
		t.Errorf("unexpected content %q", tail[:100])
	}
}
