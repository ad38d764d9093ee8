package core

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/bundle"
	"nucleus.dev/nucleus/daemon/config"
	"nucleus.dev/nucleus/internal/errdefs"
)

// TestTimeoutSemantics: unset and zero take the daemon's default;
// no_timeout means none; both together are refused.
func TestTimeoutSemantics(t *testing.T) {
	d := storeDaemon(t)
	d.cfg.Defaults.Timeout = config.Duration(time.Hour)
	for _, c := range []struct {
		spec *nucleusv1.ContainerSpec
		want time.Duration
	}{
		{&nucleusv1.ContainerSpec{}, time.Hour},
		{&nucleusv1.ContainerSpec{Timeout: durationpb.New(0)}, time.Hour},
		{&nucleusv1.ContainerSpec{Timeout: durationpb.New(time.Minute)}, time.Minute},
		{&nucleusv1.ContainerSpec{NoTimeout: true}, 0},
		{&nucleusv1.ContainerSpec{NoTimeout: true, Timeout: durationpb.New(0)}, 0},
	} {
		if got, err := d.timeout(c.spec); err != nil || got != c.want {
			t.Errorf("timeout(%v) = %s, %v; want %s", c.spec, got, err, c.want)
		}
	}
	for _, spec := range []*nucleusv1.ContainerSpec{
		{NoTimeout: true, Timeout: durationpb.New(time.Minute)},
		{Timeout: durationpb.New(-time.Second)},
	} {
		if _, err := d.timeout(spec); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("timeout(%v) = %v, want InvalidArgument", spec, err)
		}
	}
}

// TestCreateCeilings: resources, tmpfs volumes and the timeout are checked
// against the ceilings for every caller; root only with exempt_root.
func TestCreateCeilings(t *testing.T) {
	d := storeDaemon(t) // 4g, 2 CPUs
	d.cfg.Limits.MaxTimeout = config.Duration(time.Hour)
	d.ceil = d.cfg.Limits.Ceilings(config.Host{MemoryBytes: 4 << 30, CPUs: 2})
	ok := bundle.Request{Resources: bundle.Resources{MemoryBytes: 4 << 30, CPUs: 2, Pids: 32768},
		Volumes: []bundle.Volume{{Type: bundle.VolumeTmpfs, Destination: "/s", SizeBytes: 1 << 30}}}
	if err := d.checkCeilings(tenantCaller, &ok, time.Hour); err != nil {
		t.Fatalf("at the ceilings: %v", err)
	}
	for _, c := range []struct {
		edit    func(*bundle.Request)
		timeout time.Duration
		key     string
	}{
		{func(r *bundle.Request) { r.Resources.MemoryBytes = 1000 << 30 }, time.Hour, "max_memory = 4g"},
		{func(r *bundle.Request) { r.Resources.CPUs = 500 }, time.Hour, "max_cpus = 2"},
		{func(r *bundle.Request) { r.Resources.Pids = 32769 }, time.Hour, "max_pids = 32768"},
		{func(r *bundle.Request) { r.Volumes[0].SizeBytes = 2 << 30 }, time.Hour, "max_tmp_size = 1g"},
		{func(*bundle.Request) {}, 2 * time.Hour, "max_timeout"},
		{func(*bundle.Request) {}, 0, "max_timeout"},
	} {
		req := ok
		req.Volumes = []bundle.Volume{ok.Volumes[0]}
		c.edit(&req)
		for _, caller := range []string{"tenant", "root"} {
			id := tenantCaller
			if caller == "root" {
				id = rootCaller
			}
			err := d.checkCeilings(id, &req, c.timeout)
			if !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), "[limits] "+c.key) {
				t.Errorf("%s, %s: %v, want a refusal naming %s", caller, c.key, err, c.key)
			}
		}
		d.cfg.Limits.ExemptRoot = true
		if err := d.checkCeilings(rootCaller, &req, c.timeout); err != nil {
			t.Errorf("exempt root, %s: %v", c.key, err)
		}
		if err := d.checkCeilings(tenantCaller, &req, c.timeout); err == nil {
			t.Errorf("exempt_root exempted a tenant from %s", c.key)
		}
		d.cfg.Limits.ExemptRoot = false
	}
}

// TestUpdateChecks: Update's values are refused before any host change:
// above the ceilings, NaN, infinite or below the floors.
func TestUpdateChecks(t *testing.T) {
	d := storeDaemon(t) // 4g, 2 CPUs
	if err := d.checkUpdate(tenantCaller, &nucleusv1.Resources{MemoryBytes: 4 << 30, Cpus: 2}); err != nil {
		t.Fatalf("at the ceilings: %v", err)
	}
	for _, r := range []*nucleusv1.Resources{
		{MemoryBytes: 100000 << 30}, {Cpus: 500}, {Cpus: math.NaN()}, {Cpus: math.Inf(1)},
		{MemoryBytes: -1}, {MemoryBytes: 1 << 20}, {Cpus: 0.001},
	} {
		for _, caller := range []string{"tenant", "root"} {
			id := tenantCaller
			if caller == "root" {
				id = rootCaller
			}
			if err := d.checkUpdate(id, r); !errors.Is(err, errdefs.ErrInvalidArgument) {
				t.Errorf("%s update %v = %v, want InvalidArgument", caller, r, err)
			}
		}
	}
	err := d.checkUpdate(tenantCaller, &nucleusv1.Resources{MemoryBytes: 100000 << 30, Cpus: 1})
	if err == nil || !strings.Contains(err.Error(), "memory 100000g exceeds the operator's ceiling [limits] max_memory = 4g") {
		t.Errorf("update 100000g = %v", err)
	}
	d.cfg.Limits.ExemptRoot = true
	if err := d.checkUpdate(rootCaller, &nucleusv1.Resources{MemoryBytes: 8 << 30, Cpus: 4}); err != nil {
		t.Errorf("exempt root update = %v", err)
	}
	if err := d.checkUpdate(rootCaller, &nucleusv1.Resources{Cpus: math.NaN()}); err == nil {
		t.Errorf("exempt root update with NaN cpus accepted")
	}
}
