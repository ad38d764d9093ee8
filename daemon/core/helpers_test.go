package core

import (
	"path/filepath"
	"testing"
	"time"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/daemon/auth"
	"nucleus.dev/nucleus/daemon/config"
	"nucleus.dev/nucleus/daemon/store"
)

var (
	rootCaller   = auth.Identity{UID: 0, Admin: true}
	tenantCaller = auth.Identity{UID: 1000}
)

// storeDaemon is a Daemon with only a store and the default config: enough
// for lookups, counts and the ceilings.
func storeDaemon(t *testing.T) *Daemon {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg := config.Default()
	return &Daemon{cfg: cfg, ceil: cfg.Limits.Ceilings(config.Host{MemoryBytes: 4 << 30, CPUs: 2}), store: st}
}

func addRecord(t *testing.T, d *Daemon, id, name string, owner uint32, state nucleusv1.ContainerState) {
	t.Helper()
	err := d.store.CreateContainer(&store.Container{
		ID: id, Name: name, OwnerUID: owner, State: state, CreatedAt: time.Now(),
		Spec: &nucleusv1.ContainerSpec{Args: []string{"true"}},
	})
	if err != nil {
		t.Fatal(err)
	}
}
