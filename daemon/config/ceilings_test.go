package config

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"nucleus.dev/nucleus/internal/errdefs"
)

var smallHost = Host{MemoryBytes: 24 << 30, CPUs: 2}

// TestCeilingsFromHost: unset max_memory and max_cpus are the host's; set
// ones win; the refusal is InvalidArgument naming the key and its value.
func TestCeilingsFromHost(t *testing.T) {
	l := Default().Limits
	c := l.Ceilings(Host{MemoryBytes: 25132236800, CPUs: 2})
	err := c.CheckMemory(1000 << 30)
	if !errors.Is(err, errdefs.ErrInvalidArgument) ||
		err.Error() != "memory 1000g exceeds the operator's ceiling [limits] max_memory = 23.4g (the host's memory: the key is unset)" {
		t.Errorf("CheckMemory(1000g) = %v", err)
	}
	if err := c.CheckMemory(25132236800); err != nil {
		t.Errorf("CheckMemory(host memory) = %v, want nil", err)
	}
	if err := c.CheckCPUs(500); !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), "[limits] max_cpus = 2 (the host's CPUs") {
		t.Errorf("CheckCPUs(500) = %v", err)
	}
	if err := c.CheckCPUs(2); err != nil {
		t.Errorf("CheckCPUs(2) = %v", err)
	}
	l.MaxMemory, l.MaxCPUs, l.MaxPids = 2*GiB, 1.5, 100
	c = l.Ceilings(Host{MemoryBytes: 25132236800, CPUs: 2})
	if err := c.CheckMemory(3 << 30); err == nil || err.Error() != "memory 3g exceeds the operator's ceiling [limits] max_memory = 2g" {
		t.Errorf("CheckMemory(3g) with max_memory 2g = %v", err)
	}
	if err := c.CheckCPUs(1.6); err == nil || !strings.HasSuffix(err.Error(), "max_cpus = 1.5") {
		t.Errorf("CheckCPUs(1.6) = %v", err)
	}
	if err := c.CheckPids(101); err == nil || !strings.HasSuffix(err.Error(), "max_pids = 100") {
		t.Errorf("CheckPids(101) = %v", err)
	}
	if err := c.CheckTmpfs("volumes[0] (tmpfs /scratch)", 2<<30); err == nil || err.Error() != "volumes[0] (tmpfs /scratch) of 2g exceeds the operator's ceiling [limits] max_tmp_size = 1g" {
		t.Errorf("CheckTmpfs(2g) = %v", err)
	}
}

// TestCeilingsRefuseNonNumbers: NaN and infinite CPUs pass no ceiling
// (NaN compares false with everything).
func TestCeilingsRefuseNonNumbers(t *testing.T) {
	c := Default().Limits.Ceilings(smallHost)
	for _, v := range []float64{math.NaN(), math.Inf(1)} {
		if err := c.CheckCPUs(v); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("CheckCPUs(%v) = %v, want InvalidArgument", v, err)
		}
	}
}

// TestTimeoutCeiling: no max_timeout allows any timeout and none; a
// max_timeout refuses longer ones and no timeout at all.
func TestTimeoutCeiling(t *testing.T) {
	l := Default().Limits
	c := l.Ceilings(smallHost)
	for _, d := range []time.Duration{0, time.Nanosecond, 1000 * time.Hour} {
		if err := c.CheckTimeout(d); err != nil {
			t.Errorf("no ceiling: CheckTimeout(%s) = %v", d, err)
		}
	}
	l.MaxTimeout = Duration(time.Hour)
	c = l.Ceilings(smallHost)
	if err := c.CheckTimeout(time.Hour); err != nil {
		t.Errorf("CheckTimeout(1h) under 1h = %v", err)
	}
	if err := c.CheckTimeout(2 * time.Hour); !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), `max_timeout = "1h0m0s"`) {
		t.Errorf("CheckTimeout(2h) = %v", err)
	}
	if err := c.CheckTimeout(0); !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.HasPrefix(err.Error(), "no timeout exceeds") {
		t.Errorf("CheckTimeout(none) = %v", err)
	}
}

// TestDefaultsMustFitCeilings: every [defaults] value is checked against
// its ceiling at load, with the host's values for unset ceilings.
func TestDefaultsMustFitCeilings(t *testing.T) {
	if err := Default().validateOn(smallHost); err != nil {
		t.Fatalf("the defaults on a 24g, 2-CPU host: %v", err)
	}
	for _, c := range []struct {
		name string
		host Host
		edit func(*Config)
		key  string
	}{
		{"memory over the host", Host{MemoryBytes: 256 << 20, CPUs: 2}, func(*Config) {}, "defaults.memory"},
		{"memory over max_memory", smallHost, func(c *Config) { c.Limits.MaxMemory = 256 * MiB }, "defaults.memory"},
		{"cpus over the host", smallHost, func(c *Config) { c.Defaults.CPUs = 3 }, "defaults.cpus"},
		{"unlimited cpus under max_cpus", smallHost, func(c *Config) { c.Limits.MaxCPUs, c.Defaults.CPUs = 1, 0 }, "defaults.cpus"},
		{"default cpus over max_cpus", smallHost, func(c *Config) { c.Limits.MaxCPUs = 0.5 }, "defaults.cpus"},
		{"pids over max_pids", smallHost, func(c *Config) { c.Limits.MaxPids = 100 }, "defaults.pids"},
		{"no timeout under max_timeout", smallHost, func(c *Config) { c.Limits.MaxTimeout = Duration(time.Hour) }, "defaults.timeout"},
		{"timeout over max_timeout", smallHost, func(c *Config) {
			c.Limits.MaxTimeout, c.Defaults.Timeout = Duration(time.Hour), Duration(2*time.Hour)
		}, "defaults.timeout"},
		{"tmp over max_tmp_size", smallHost, func(c *Config) { c.Limits.MaxTmpSize = 32 * MiB }, "defaults.tmp_size"},
		{"shm over max_shm_size", smallHost, func(c *Config) { c.Limits.MaxShmSize = 32 * MiB }, "defaults.shm_size"},
		{"negative max_memory", smallHost, func(c *Config) { c.Limits.MaxMemory = -1 }, "limits.max_memory"},
		{"negative max_cpus", smallHost, func(c *Config) { c.Limits.MaxCPUs = -1 }, "limits.max_cpus"},
		{"zero max_pids", smallHost, func(c *Config) { c.Limits.MaxPids = 0 }, "limits.max_pids"},
		{"negative max_timeout", smallHost, func(c *Config) { c.Limits.MaxTimeout = -1 }, "limits.max_timeout"},
	} {
		cfg := Default()
		c.edit(cfg)
		err := cfg.validateOn(c.host)
		if !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), c.key+":") {
			t.Errorf("%s: %v, want an error naming %s", c.name, err, c.key)
		}
	}
	cfg := Default()
	cfg.Limits.MaxTimeout, cfg.Defaults.Timeout = Duration(time.Hour), Duration(time.Minute)
	cfg.Limits.MaxCPUs, cfg.Defaults.CPUs = 1, 0.5
	if err := cfg.validateOn(smallHost); err != nil {
		t.Errorf("defaults inside explicit ceilings: %v", err)
	}
}

func TestMemTotal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meminfo")
	os.WriteFile(path, []byte("MemFree:  100 kB\nMemTotal:       24542632 kB\n"), 0o600)
	if got := memTotal(path); got != 24542632*1024 {
		t.Errorf("memTotal = %d", got)
	}
	if got := memTotal(filepath.Join(t.TempDir(), "none")); got != 0 {
		t.Errorf("memTotal of a missing file = %d, want 0", got)
	}
	if h := HostFacts(); h.MemoryBytes <= 0 || h.CPUs < 1 {
		t.Errorf("HostFacts() = %+v", h)
	}
}

func TestHuman(t *testing.T) {
	for in, want := range map[ByteSize]string{0: "0", 512: "512", 2 * GiB: "2g", 1536 * MiB: "1.5g", 25132236800: "23.4g", 1000 * GiB: "1000g", 3*KiB + 1: "3.0k", 100000 * GiB: "97.7t"} {
		if got := in.Human(); got != want {
			t.Errorf("ByteSize(%d).Human() = %q, want %q", in, got, want)
		}
	}
}
