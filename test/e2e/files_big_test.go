package e2e

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"testing"
	"time"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/client"
)

// TestE2EFiles100MiB: a 100 MiB random file written with WriteFile and
// read back with ReadFile is byte-identical.
func TestE2EFiles100MiB(t *testing.T) {
	d := StartDaemon(t, DaemonOptions{})
	c := d.Client()
	ctx := ctxT(t, 300*time.Second)
	spec := sh("sleep 600")
	spec.Resources = &nucleusv1.Resources{MemoryBytes: 1 << 30}
	spec.Volumes = []*nucleusv1.Volume{{Type: nucleusv1.VolumeType_VOLUME_TYPE_TMPFS, Destination: "/data", SizeBytes: 300 << 20}}
	ct, err := c.RunDetached(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 100<<20)
	_, _ = rand.Read(data)
	start := time.Now()
	if _, err := c.WriteFile(ctx, ct.GetId(), "/data/big", bytes.NewReader(data), client.FileOptions{}); err != nil {
		t.Fatal(err)
	}
	wrote := time.Since(start)
	var back bytes.Buffer
	start = time.Now()
	if _, err := c.ReadFile(ctx, ct.GetId(), "/data/big", &back); err != nil {
		t.Fatal(err)
	}
	t.Logf("100 MiB: WriteFile %v, ReadFile %v", wrote, time.Since(start))
	if sha256.Sum256(back.Bytes()) != sha256.Sum256(data) {
		t.Fatalf("read back %d bytes, not identical to the 100 MiB written", back.Len())
	}
}
