package store

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"

	"nucleus.dev/nucleus/internal/errdefs"
)

// TestCertOwnerUniqueAndStable: each identity key gets its own odd owner in
// the certificate range, the same one on every call and after a reopen,
// also when many are allocated at once.
func TestCertOwnerUniqueAndStable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nucleus.db")
	s := openTest(t, path, Options{})
	const n = 64
	owners := make([]uint32, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			uid, err := s.CertOwner(sha256.Sum256(fmt.Appendf(nil, "subject %d", i)), fmt.Sprintf("CN=c%d", i))
			if err != nil {
				t.Error(err)
			}
			owners[i] = uid
		}()
	}
	wg.Wait()
	seen := map[uint32]int{}
	for i, uid := range owners {
		if j, dup := seen[uid]; dup {
			t.Fatalf("identities %d and %d share owner %d", i, j, uid)
		}
		seen[uid] = i
		if uid < FirstCertOwner || uid > LastCertOwner || uid%2 == 0 {
			t.Fatalf("owner %d is outside the odd certificate range", uid)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, path, Options{})
	if info := s.Info(); info.Rebuilt {
		t.Fatalf("the store with a certificate-owner table fails its check: %s", info.CorruptReason)
	}
	for i := range n {
		uid, err := s.CertOwner(sha256.Sum256(fmt.Appendf(nil, "subject %d", i)), "ignored")
		if err != nil || uid != owners[i] {
			t.Fatalf("after reopen identity %d owns %d (%v), want %d", i, uid, err, owners[i])
		}
	}
	fresh, err := s.CertOwner(sha256.Sum256([]byte("new")), "CN=new")
	if _, dup := seen[fresh]; err != nil || dup {
		t.Fatalf("a new identity after reopen got %d (%v), already given", fresh, err)
	}
}

// TestCertOwnerSkipsOwnersInUse: an owner that container records already
// have (a store rebuilt from meta files has records but lost the table) is
// never given to a new identity.
func TestCertOwnerSkipsOwnersInUse(t *testing.T) {
	s := openTest(t, "", Options{})
	for i, uid := range []uint32{FirstCertOwner, FirstCertOwner + 2} {
		c := testContainer(i, fmt.Sprintf("c%d", i))
		c.OwnerUID = uid
		if err := s.CreateContainer(c); err != nil {
			t.Fatal(err)
		}
	}
	uid, err := s.CertOwner(sha256.Sum256([]byte("x")), "CN=x")
	if err != nil || uid != FirstCertOwner+4 {
		t.Fatalf("CertOwner = %d, %v; want %d, the first owner no record has", uid, err, FirstCertOwner+4)
	}
}

// TestCertOwnerExhausted: when the range is used up allocation fails with
// ResourceExhausted instead of wrapping around.
func TestCertOwnerExhausted(t *testing.T) {
	s := openTest(t, "", Options{})
	if err := s.db.Update(func(tx *bolt.Tx) error {
		return bucket(tx, bucketMeta).Put([]byte(metaNextCertOwner), u64(uint64(LastCertOwner)))
	}); err != nil {
		t.Fatal(err)
	}
	if uid, err := s.CertOwner(sha256.Sum256([]byte("last")), "CN=last"); err != nil || uid != LastCertOwner {
		t.Fatalf("last owner: %d, %v", uid, err)
	}
	if _, err := s.CertOwner(sha256.Sum256([]byte("one too many")), "CN=x"); !errors.Is(err, errdefs.ErrResourceExhausted) {
		t.Fatalf("past the range: %v, want ResourceExhausted", err)
	}
}
