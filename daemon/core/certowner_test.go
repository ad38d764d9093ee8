package core

import (
	"testing"

	"nucleus.dev/nucleus/daemon/auth"
	"nucleus.dev/nucleus/daemon/store"
)

// TestCertOwnerRange: every owner the store allocates to a certificate is
// one auth refuses to socket callers, so the two never meet.
func TestCertOwnerRange(t *testing.T) {
	if store.FirstCertOwner < auth.MinCertOwner || store.LastCertOwner < store.FirstCertOwner {
		t.Fatalf("store allocates certificate owners from %d, auth keeps %d and up free", store.FirstCertOwner, auth.MinCertOwner)
	}
}
