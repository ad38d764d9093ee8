package config

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"nucleus.dev/nucleus/internal/errdefs"
)

// Host is what the ceilings that [limits] leaves unset are derived from.
type Host struct {
	MemoryBytes int64 // MemTotal; 0 when unknown (then memory has no ceiling)
	CPUs        int
}

// HostFacts reads the host's memory (/proc/meminfo) and usable CPUs.
func HostFacts() Host {
	return Host{MemoryBytes: memTotal("/proc/meminfo"), CPUs: runtime.NumCPU()}
}

// memTotal returns MemTotal from a meminfo file in bytes, 0 if unreadable.
func memTotal(path string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil || kb <= 0 || kb > math.MaxInt64/1024 {
				return 0
			}
			return kb * 1024
		}
	}
	return 0
}

// Ceilings are the largest values one container may get: [limits]
// max_memory, max_cpus, max_pids, max_timeout, max_tmp_size and
// max_shm_size, with memory and CPUs taken from the host when unset.
// Zero Memory or Timeout means no ceiling.
type Ceilings struct {
	Memory  ByteSize
	CPUs    float64
	Pids    int64
	Timeout time.Duration
	TmpSize ByteSize
	ShmSize ByteSize
	Disk    ByteSize
	// Which ceilings came from the host (the key was unset), for messages.
	hostMemory, hostCPUs bool
}

// Ceilings resolves the per-container ceilings of l on host h.
func (l *LimitsConfig) Ceilings(h Host) Ceilings {
	c := Ceilings{
		Memory: l.MaxMemory, CPUs: l.MaxCPUs, Pids: l.MaxPids, Timeout: l.MaxTimeout.Std(),
		TmpSize: l.MaxTmpSize, ShmSize: l.MaxShmSize, Disk: l.MaxDisk,
	}
	if c.Memory == 0 {
		c.Memory, c.hostMemory = ByteSize(h.MemoryBytes), true
	}
	if c.CPUs == 0 {
		c.CPUs, c.hostCPUs = float64(h.CPUs), true
	}
	return c
}

// refuse is the one form of a ceiling refusal: InvalidArgument naming the
// key and its value.
func refuse(what, key, value, note string) error {
	return errdefs.InvalidArgument("%s exceeds the operator's ceiling [limits] %s = %s%s", what, key, value, note)
}

// CheckMemory refuses a memory limit above the ceiling.
func (c Ceilings) CheckMemory(bytes int64) error {
	if c.Memory > 0 && bytes > int64(c.Memory) {
		return refuse("memory "+ByteSize(bytes).String(), "max_memory", c.Memory.Human(), c.note(c.hostMemory, "memory"))
	}
	return nil
}

// CheckCPUs refuses a CPU limit above the ceiling, and NaN or infinity.
func (c Ceilings) CheckCPUs(cpus float64) error {
	if math.IsNaN(cpus) || math.IsInf(cpus, 0) {
		return errdefs.InvalidArgument("cpus %v is not a number of CPUs", cpus)
	}
	if c.CPUs > 0 && cpus > c.CPUs {
		return refuse(fmt.Sprintf("cpus %v", cpus), "max_cpus", strconv.FormatFloat(c.CPUs, 'f', -1, 64), c.note(c.hostCPUs, "CPUs"))
	}
	return nil
}

// CheckPids refuses an in-sandbox task limit above the ceiling.
func (c Ceilings) CheckPids(pids int64) error {
	if c.Pids > 0 && pids > c.Pids {
		return refuse(fmt.Sprintf("pids %d", pids), "max_pids", strconv.FormatInt(c.Pids, 10), "")
	}
	return nil
}

// CheckTimeout refuses a timeout above the ceiling; d == 0 means no
// timeout, which a ceiling forbids.
func (c Ceilings) CheckTimeout(d time.Duration) error {
	switch {
	case c.Timeout == 0:
		return nil
	case d == 0:
		return refuse("no timeout", "max_timeout", fmt.Sprintf("%q", Duration(c.Timeout)), "; ask for a timeout up to it")
	case d > c.Timeout:
		return refuse(fmt.Sprintf("timeout %s", d), "max_timeout", fmt.Sprintf("%q", Duration(c.Timeout)), "")
	}
	return nil
}

// CheckTmpfs refuses a tmpfs volume larger than the ceiling.
func (c Ceilings) CheckTmpfs(what string, bytes int64) error {
	if c.TmpSize > 0 && bytes > int64(c.TmpSize) {
		return refuse(what+" of "+ByteSize(bytes).String(), "max_tmp_size", c.TmpSize.Human(), "")
	}
	return nil
}

// CheckDisk refuses a writable layer larger than the ceiling.
func (c Ceilings) CheckDisk(bytes int64) error {
	if c.Disk > 0 && bytes > int64(c.Disk) {
		return refuse("disk "+ByteSize(bytes).String(), "max_disk", c.Disk.Human(), "")
	}
	return nil
}

func (c Ceilings) note(fromHost bool, what string) string {
	if !fromHost {
		return ""
	}
	return " (the host's " + what + ": the key is unset)"
}

// Human renders the size for people in the largest unit it reaches, with
// one decimal unless the unit divides it: "2g", "1.5g", "23.4g".
func (b ByteSize) Human() string {
	for _, u := range []struct {
		size   ByteSize
		suffix string
	}{{TiB, "t"}, {GiB, "g"}, {MiB, "m"}, {KiB, "k"}} {
		switch {
		case b < u.size:
		case b%u.size == 0:
			return strconv.FormatInt(int64(b/u.size), 10) + u.suffix
		default:
			return strconv.FormatFloat(float64(b)/float64(u.size), 'f', 1, 64) + u.suffix
		}
	}
	return b.String()
}
