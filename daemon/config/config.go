// Package config is nucleusd's TOML configuration: the typed Config, its
// defaults (filled in one place, Default), strict decoding (unknown keys are
// errors) and validation whose errors name the offending key.
package config

// CurrentVersion is the only config schema version this nucleusd reads.
const CurrentVersion = 1

// DefaultPath is where nucleusd looks for its config unless told otherwise.
const DefaultPath = "/etc/nucleus/nucleusd.toml"

// Config is nucleusd's whole configuration. Every field carries a `doc` tag:
// Reference renders it, and a test fails when one is missing.
type Config struct {
	Version     int               `toml:"version" doc:"Config schema version; required, and must be 1."`
	API         APIConfig         `toml:"api" doc:"The gRPC endpoints."`
	Runsc       RunscConfig       `toml:"runsc" doc:"How nucleusd runs runsc."`
	Security    SecurityConfig    `toml:"security" doc:"Operator policy for host resources."`
	Defaults    DefaultsConfig    `toml:"defaults" doc:"Values for a container that does not set them."`
	Limits      LimitsConfig      `toml:"limits" doc:"Caps that protect the host and the daemon. The max_* keys are per-container ceilings: Create, Run and Update above one are refused (InvalidArgument, naming the key) for every caller, root too unless exempt_root; [defaults] must fit inside them, or nucleusd refuses the config. Every other key here applies to root as well, except where it names root (max_streams_root, max_connections_root). Disk: logs, records and exits share the file system of --root; log_max_bytes x max_containers (64 GiB with the defaults) is the logs' worst case, and min_free_disk is what keeps the disk from filling: creates stop below it, logging below half of it."`
	Hooks       HooksConfig       `toml:"hooks" doc:"Operator-defined OCI hook sets; the only hooks that ever run."`
	Logging     LoggingConfig     `toml:"logging" doc:"nucleusd's own log."`
	Metrics     MetricsConfig     `toml:"metrics" doc:"The Prometheus endpoint."`
	Snapshots   SnapshotsConfig   `toml:"snapshots" doc:"Checkpoint images (nucleusctl checkpoint, restore): limits and speed options."`
	Images      ImagesConfig      `toml:"images" doc:"OCI images: where they may come from and how large they may be (see docs/security.md)."`
	Network     NetworkConfig     `toml:"network" doc:"The \"egress\" network mode: bridge, resolver and the operator's ceilings on egress policies."`
	Supervisors SupervisorsConfig `toml:"supervisors" doc:"The supervisor processes (one per running container, outliving nucleusd): how many are kept free for the next creates, and how often one process is reused."`
}

// APIConfig is the [api] section.
type APIConfig struct {
	Socket       string   `toml:"socket" doc:"Unix socket path (0660, group socket_group); --address overrides it."`
	SocketGroup  string   `toml:"socket_group" doc:"Group owning the socket; its members may call the API."`
	TCPAddress   string   `toml:"tcp_address" doc:"host:port of a TCP listener with mutual TLS; empty turns TCP off."`
	TLSCert      string   `toml:"tls_cert" doc:"PEM server certificate; required with tcp_address."`
	TLSKey       string   `toml:"tls_key" doc:"PEM server key; required with tcp_address."`
	TLSClientCA  string   `toml:"tls_client_ca" doc:"PEM CA bundle that client certificates must chain to; required with tcp_address."`
	MaxRecvBytes ByteSize `toml:"max_recv_bytes" doc:"Largest gRPC message accepted (e.g. \"16m\")."`
}

// RunscConfig is the [runsc] section.
type RunscConfig struct {
	Path       string   `toml:"path" doc:"runsc binary; empty means the runsc next to nucleusd, else the one on PATH. When it is a build of the gVisor version nucleusd links (as make build makes it), create and start run inside each supervisor, exec and delete inside nucleusd, instead of as runsc processes."`
	Platform   string   `toml:"platform" doc:"runsc --platform: systrap, ptrace or kvm."`
	Network    string   `toml:"network" doc:"Default network mode: none, loopback (old spelling: sandbox), egress or host; must be in security.allowed_networks."`
	Overlay2   string   `toml:"overlay2" doc:"runsc --overlay2 value (e.g. \"root:self\"); empty leaves runsc's default."`
	Debug      bool     `toml:"debug" doc:"Pass --debug and write runsc debug logs under the state directory."`
	ExtraFlags []string `toml:"extra_flags" doc:"Extra global runsc flags (\"--name=value\"); flags nucleusd sets itself are refused."`
}

// SecurityConfig is the [security] section.
type SecurityConfig struct {
	AllowedHostPaths []string `toml:"allowed_host_paths" doc:"Absolute host directories that rootfs and bind volumes may come from; empty allows none."`
	AllowedNetworks  []string `toml:"allowed_networks" doc:"Network modes a container may ask for: none (only lo), loopback (gVisor netstack, only its loopback; sandbox is the old spelling), egress (an address on the [network] bridge, outbound traffic by policy), host."`
	HostPidsLimit    int64    `toml:"host_pids_limit" doc:"pids.max of each sandbox's host cgroup (sentry, gofer and their threads)."`
	UserNamespace    bool     `toml:"user_namespace" doc:"Give each sandbox whose request sets no user_namespace one with a host id range of its own, so its root is an unprivileged host uid on bound host files; false runs such sandboxes as host root (the old behaviour)."`
	UsernsBase       uint32   `toml:"userns_base" doc:"First host uid and gid of the ranges user_namespace hands out; pick ids no host user or other tool uses."`
	UsernsSize       uint32   `toml:"userns_size" doc:"Ids in each container's range (container ids 0 to userns_size-1); the container's uid and gids must be below it."`
	UsernsRanges     uint32   `toml:"userns_ranges" doc:"Number of ranges; a create fails when all are held by existing containers."`
}

// DefaultsConfig is the [defaults] section.
type DefaultsConfig struct {
	Memory  ByteSize `toml:"memory" doc:"Memory limit (e.g. \"512m\", \"1g\")."`
	CPUs    float64  `toml:"cpus" doc:"CPU limit in CPUs (a CFS quota on the sandbox's host cgroup); 0 means unlimited. A request's own cpus, up to limits.max_cpus, replaces it."`
	Pids    int64    `toml:"pids" doc:"Task limit inside the sandbox."`
	Timeout Duration `toml:"timeout" doc:"Maximum runtime after start (e.g. \"1h\"); \"0s\" means none."`
	TmpSize ByteSize `toml:"tmp_size" doc:"Size of the /tmp tmpfs and of tmpfs volumes without a size."`
	ShmSize ByteSize `toml:"shm_size" doc:"Size of /dev/shm."`
	Disk    ByteSize `toml:"disk" doc:"Size cap of the writable layer of a container that runs from an image (resources.disk_bytes, --disk). The layer lives in the sandbox's memory and counts against its memory limit; a container that fills it gets ENOSPC."`
}

// LimitsConfig is the [limits] section.
type LimitsConfig struct {
	MaxContainers       int      `toml:"max_containers" doc:"Containers on this host, in any state."`
	MaxContainersPerUID int      `toml:"max_containers_per_uid" doc:"Containers owned by one uid, in any state; root counts as a uid here too."`
	MaxExecOutputBytes  ByteSize `toml:"max_exec_output_bytes" doc:"Output ExecSync keeps per stream; the rest is dropped and reported as truncated."`
	LogMaxBytes         ByteSize `toml:"log_max_bytes" doc:"Log bytes kept per container; older output is rotated away."`
	MaxRequestBytes     ByteSize `toml:"max_request_bytes" doc:"Largest encoded container spec (secrets included); at most api.max_recv_bytes."`
	EventsRetained      int      `toml:"events_retained" doc:"Events kept in the store for replay."`
	MaxFileBytes        ByteSize `toml:"max_file_bytes" doc:"File data one Files call moves (WriteFile, ReadFile, or all files of a CopyTo or CopyFrom); more is refused with RESOURCE_EXHAUSTED and a refused WriteFile leaves the old file."`
	MaxDirEntries       int      `toml:"max_dir_entries" doc:"Entries one ListDir returns; a larger directory is refused with RESOURCE_EXHAUSTED."`

	// Per-container ceilings: every Create, Run and Update is checked
	// against them (see Ceilings); [defaults] must fit inside them.
	MaxMemory  ByteSize `toml:"max_memory" doc:"Largest memory limit of one container, at create and update; 0 means the host's memory (MemTotal)."`
	MaxCPUs    float64  `toml:"max_cpus" doc:"Largest CPU limit of one container, at create and update; 0 means the host's CPUs."`
	MaxPids    int64    `toml:"max_pids" doc:"Largest task limit inside one sandbox (its RLIMIT_NPROC); the default is the kernel's default pid_max."`
	MaxTimeout Duration `toml:"max_timeout" doc:"Longest timeout a container may ask for; \"0s\" means no ceiling, and only then may a container ask for no timeout."`
	MaxTmpSize ByteSize `toml:"max_tmp_size" doc:"Largest tmpfs volume one container may ask for; defaults.tmp_size (/tmp) must fit too. tmpfs pages count against the container's memory limit."`
	MaxShmSize ByteSize `toml:"max_shm_size" doc:"Largest /dev/shm; defaults.shm_size must fit."`
	MaxDisk    ByteSize `toml:"max_disk" doc:"Largest writable layer of one container that runs from an image (resources.disk_bytes); defaults.disk must fit."`
	ExemptRoot bool     `toml:"exempt_root" doc:"Exempt root on the unix socket from max_memory, max_cpus, max_pids, max_timeout and max_tmp_size."`

	MinFreeDisk ByteSize `toml:"min_free_disk" doc:"Free space kept on the file system of nucleusd's root for the records and exit statuses of existing containers: below it, creates fail with RESOURCE_EXHAUSTED; below half of it, containers' output is dropped (a marker in the log counts the bytes) until space returns. 0 turns both checks off."`

	ContainersCPUShares int64 `toml:"containers_cpu_shares" doc:"CPU weight of all containers together (cgroup v1 cpu.shares of their parent cgroup, the v2 cpu.weight equivalent), against nucleusd and the rest of the host at 1024 each: when the CPUs are busy, containers cannot starve the daemon's API. 0 leaves the parent cgroup's weight alone."`

	// Streams and connections: a caller is a uid on the socket, a client
	// certificate on the TCP listener; root has its own, higher, limits
	// and does not count towards the totals, so a tenant at its limit
	// never locks root out.
	MaxStreamsPerUID       int `toml:"max_streams_per_uid" doc:"Concurrent streaming calls (logs, events, exec, stats, run) of one non-root caller; more are refused with RESOURCE_EXHAUSTED."`
	MaxStreamsRoot         int `toml:"max_streams_root" doc:"Concurrent streaming calls of root."`
	MaxStreams             int `toml:"max_streams" doc:"Concurrent streaming calls of all non-root callers together."`
	MaxConnectionsPerUID   int `toml:"max_connections_per_uid" doc:"Open API connections of one non-root caller; more are closed at once."`
	MaxConnectionsRoot     int `toml:"max_connections_root" doc:"Open API connections of root."`
	MaxConnections         int `toml:"max_connections" doc:"Open API connections of all non-root callers together, per listener."`
	EventsSubscriberBuffer int `toml:"events_subscriber_buffer" doc:"Events queued for one Events subscriber; one that falls further behind is dropped with RESOURCE_EXHAUSTED and resumes with since_sequence."`
}

// LoggingConfig is the [logging] section.
type LoggingConfig struct {
	Level  string `toml:"level" doc:"debug, info, warn or error; --log-level overrides it."`
	Format string `toml:"format" doc:"auto (console on a terminal, else json), json or console."`
}

// MetricsConfig is the [metrics] section.
type MetricsConfig struct {
	Address string `toml:"address" doc:"host:port of the Prometheus endpoint; empty turns it off."`
}
