package config

import "time"

// Default returns the configuration nucleusd uses for every key a file does
// not set. It is the one place defaults live; Load decodes a file over it.
func Default() *Config {
	return &Config{
		Version: CurrentVersion,
		API: APIConfig{
			Socket:       "/run/nucleus/nucleusd.sock",
			SocketGroup:  "nucleus",
			MaxRecvBytes: 16 * MiB,
		},
		Runsc: RunscConfig{
			Platform: "systrap",
			Network:  NetworkNone,
		},
		Security: SecurityConfig{
			AllowedNetworks: []string{NetworkNone, NetworkLoopback, NetworkEgress},
			HostPidsLimit:   1024,
			UserNamespace:   true,
			UsernsBase:      DefaultUsernsBase,
			UsernsSize:      65536,
			UsernsRanges:    1024,
		},
		Defaults: DefaultsConfig{
			Memory:  512 * MiB,
			CPUs:    1,
			Pids:    1024,
			TmpSize: 64 * MiB,
			ShmSize: 64 * MiB,
			Disk:    GiB,
		},
		Limits: LimitsConfig{
			MaxContainers:          1000,
			MaxContainersPerUID:    100,
			MaxExecOutputBytes:     16 * MiB,
			LogMaxBytes:            64 * MiB,
			MaxRequestBytes:        4 * MiB,
			EventsRetained:         5000,
			MaxFileBytes:           GiB,
			MaxDirEntries:          100000,
			MaxPids:                32768,
			MaxTmpSize:             GiB,
			MaxShmSize:             GiB,
			MaxDisk:                16 * GiB,
			ContainersCPUShares:    256,
			MinFreeDisk:            64 * MiB,
			MaxStreamsPerUID:       64,
			MaxStreamsRoot:         4096,
			MaxStreams:             1024,
			MaxConnectionsPerUID:   64,
			MaxConnectionsRoot:     1024,
			MaxConnections:         1024,
			EventsSubscriberBuffer: 1024,
		},
		Images: ImagesConfig{
			MaxCompressedSize: 8 * GiB,
			MaxUnpackedSize:   16 * GiB,
			MaxLayers:         128,
			MaxFilesPerLayer:  500_000,
			PullTimeout:       Duration(30 * time.Minute),
			ParallelDownloads: 4,
		},
		Network:     defaultNetwork(),
		Supervisors: defaultSupervisors(),
		Logging: LoggingConfig{
			Level:  "info",
			Format: "auto",
		},
		Snapshots: SnapshotsConfig{
			MaxBytes:          4 * GiB,
			MaxBytesPerUID:    16 * GiB,
			MaxTotalBytes:     64 * GiB,
			Compression:       "none",
			BackgroundRestore: true,
		},
	}
}

// DefaultUsernsBase (0x70000000) starts the user namespace ranges after
// the ranges systemd documents for nspawn containers (0x80000-0x6FFFFFFF)
// and well below its "foreign" range (0x7FFE0000); the default 1024 ranges
// of 65536 ids end at 0x74000000.
const DefaultUsernsBase = 0x70000000

// The network modes a container may run with.
const (
	NetworkNone     = "none"
	NetworkLoopback = "loopback"
	NetworkEgress   = "egress"
	NetworkHost     = "host"
	// NetworkSandbox is the old spelling of NetworkLoopback (and runsc's
	// --network value for both loopback and egress).
	NetworkSandbox = "sandbox"
)

// CanonicalNetwork maps the old spelling "sandbox" to "loopback".
func CanonicalNetwork(mode string) string {
	if mode == NetworkSandbox {
		return NetworkLoopback
	}
	return mode
}

// NetworkAllowed reports whether mode (either spelling) is in allowed.
func NetworkAllowed(allowed []string, mode string) bool {
	for _, a := range allowed {
		if CanonicalNetwork(a) == CanonicalNetwork(mode) {
			return true
		}
	}
	return false
}
