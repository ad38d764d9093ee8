package e2e

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/client"
	"nucleus.dev/nucleus/internal/errdefs"
)

// collidingCNs had the same owner under the old owner function,
// fnv32a(cn)|1<<31 &^ 1 (both 4142414948), found by trying "tenant-N"
// for N from 0 (daemon/auth's TestCertIdentities checks they collide).
var collidingCNs = [2]string{"tenant-97018", "tenant-180400"}

// TestE2ETLSCollidingNamesAreDifferentOwners: two certificates whose
// common names collided under the old hash, and a third with the first's
// common name but another organization, own different containers through
// the mTLS listener: none can see, exec into, kill or remove another's,
// and the owners are the same after a daemon restart.
func TestE2ETLSCollidingNamesAreDifferentOwners(t *testing.T) {
	dir := t.TempDir()
	ca := newCA(t, "nucleus-test-ca")
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, ca.pem, 0o600); err != nil {
		t.Fatal(err)
	}
	srvCert, srvKey := ca.issue(t, dir, "nucleusd", true)
	aCert, aKey := ca.issue(t, dir, collidingCNs[0], false)
	bCert, bKey := ca.issue(t, dir, collidingCNs[1], false)
	orgDir := filepath.Join(dir, "org")
	_ = os.Mkdir(orgDir, 0o700)
	cCert, cKey := ca.issueWithOrg(t, orgDir, collidingCNs[0], "another-org")
	ctx := ctxT(t, 120*time.Second)
	d, _, dial := startTLSDaemon(t, ctx, srvCert, srvKey, caFile)
	a, b, c := dial(aCert, aKey), dial(bCert, bKey), dial(cCert, cKey)
	ct, err := a.RunDetached(ctx, sh("sleep 60"))
	if err != nil {
		t.Fatalf("a: run over mTLS: %v", err)
	}
	own, err := b.RunDetached(ctx, sh("sleep 60"))
	if err != nil {
		t.Fatalf("b: run over mTLS: %v", err)
	}
	owners := map[uint32]string{}
	for who, id := range map[string]string{"a": ct.GetId(), "b": own.GetId()} {
		got, err := d.Client().Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		uid := got.GetOwnerUid()
		if uid < 1<<31 || uid%2 == 0 {
			t.Errorf("%s's container has owner %d, want an odd one from 2^31", who, uid)
		}
		if prev, dup := owners[uid]; dup {
			t.Fatalf("%s and %s share owner %d", prev, who, uid)
		}
		owners[uid] = who
	}

	var out bytes.Buffer
	if code, err := a.Exec(ctx, client.ExecOptions{ID: ct.GetId(), Args: []string{"/bin/echo", "mine"}, Stdout: &out}); err != nil || code != 0 {
		t.Fatalf("a: exec into its own container: %d %v", code, err)
	}
	for name, other := range map[string]*client.Client{"b (colliding name)": b, "c (same CN, other O)": c} {
		list, err := other.List(ctx, &nucleusv1.ListRequest{})
		if err != nil {
			t.Fatalf("%s: list: %v", name, err)
		}
		for _, x := range list {
			if x.GetId() == ct.GetId() {
				t.Errorf("%s lists a's container", name)
			}
		}
		if _, err := other.Get(ctx, ct.GetId()); !errors.Is(err, errdefs.ErrNotFound) {
			t.Errorf("%s: get a's container: %v, want NotFound", name, err)
		}
		if _, err := other.Exec(ctx, client.ExecOptions{ID: ct.GetId(), Args: []string{"/bin/true"}}); !errors.Is(err, errdefs.ErrNotFound) {
			t.Errorf("%s: exec into a's container: %v, want NotFound", name, err)
		}
		if err := other.Kill(ctx, ct.GetId(), 9); !errors.Is(err, errdefs.ErrNotFound) {
			t.Errorf("%s: kill a's container: %v, want NotFound", name, err)
		}
		if _, err := other.Delete(ctx, ct.GetId(), true); !errors.Is(err, errdefs.ErrNotFound) {
			t.Errorf("%s: remove a's container: %v, want NotFound", name, err)
		}
	}
	if _, err := a.Get(ctx, own.GetId()); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("a: get b's container: %v, want NotFound", err)
	}

	// The owners are stored, not derived: the same after a restart.
	d.Stop()
	d.Start()
	a2, b2 := dial(aCert, aKey), dial(bCert, bKey)
	if got, err := a2.Get(ctx, ct.GetId()); err != nil || got.GetState() != nucleusv1.ContainerState_CONTAINER_STATE_RUNNING {
		t.Fatalf("a after restart: get its running container: %v %v", got, err)
	}
	if _, err := b2.Get(ctx, ct.GetId()); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("b after restart: get a's container: %v, want NotFound", err)
	}
	if _, err := b2.Get(ctx, own.GetId()); err != nil {
		t.Errorf("b after restart: get its own container: %v", err)
	}
}
