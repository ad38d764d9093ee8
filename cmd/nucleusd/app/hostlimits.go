package app

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"go.uber.org/zap"
)

// threadsPerContainer is the host threads one running container takes:
// its sandbox and gofer (~24 between them when idle, measured) and its
// supervisor (~9), with a margin for a busy sandbox.
const threadsPerContainer = 40

// kernelThreadLimits are the sysctls that bound every thread on the host.
var kernelThreadLimits = []string{"/proc/sys/kernel/pid_max", "/proc/sys/kernel/threads-max"}

// threadCapacity returns how many containers the kernel's thread limits
// hold and the limit that binds (the smallest); 0 when none was read.
func threadCapacity(limits map[string]int) (containers int, binding string) {
	least := 0
	for name, n := range limits {
		if n > 0 && (least == 0 || n < least || (n == least && name < binding)) {
			least, binding = n, name
		}
	}
	return least / threadsPerContainer, binding
}

// warnOnThreadLimits logs when the kernel cannot hold max_containers
// running containers: past that point every fork on the host fails with
// EAGAIN (seen at 954 containers with the kernel's default pid_max 32768).
func warnOnThreadLimits(log *zap.Logger, maxContainers int) {
	limits := map[string]int{}
	for _, path := range kernelThreadLimits {
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			limits[path] = n
		}
	}
	capacity, binding := threadCapacity(limits)
	if binding == "" || maxContainers <= 0 || capacity >= maxContainers {
		return
	}
	sysctl := strings.ReplaceAll(strings.TrimPrefix(binding, "/proc/sys/"), "/", ".")
	log.Warn(fmt.Sprintf("%s (%d) holds about %d running containers (each takes ~%d host threads); [limits] max_containers is %d: raise it (deploy/sysctl.d/50-nucleus.conf sets kernel.pid_max = 4194304) or lower max_containers",
		sysctl, limits[binding], capacity, threadsPerContainer, maxContainers))
}
