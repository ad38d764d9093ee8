package app

import (
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"google.golang.org/protobuf/types/known/durationpb"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/client"
	"nucleus.dev/nucleus/internal/errdefs"
)

// ContainerOptions are the flags create and run share. Each maps onto one
// ContainerSpec field; see Spec.
type ContainerOptions struct {
	Name        string             // --name: spec.name
	Rm          bool               // --rm: spec.auto_remove
	Interactive bool               // -i: spec.open_stdin (run also forwards stdin)
	TTY         bool               // -t: spec.tty, sized as nucleusctl's terminal
	Env         []string           // -e K=V or K (from our environment): spec.env, after --env-file
	EnvFiles    []string           // --env-file: docker's format, spec.env
	Volumes     []string           // -v SRC:DST[:ro|rw]: bind spec.volumes
	Tmpfs       []string           // --tmpfs DST[:size=64m]: tmpfs spec.volumes
	Rootfs      string             // --rootfs DIR (made absolute): spec.rootfs
	Memory      string             // --memory 256m: spec.resources.memory_bytes
	CPUs        float64            // --cpus 1.5: spec.resources.cpus
	PidsLimit   int64              // --pids-limit: spec.resources.pids
	Timeout     string             // --timeout: spec.timeout, the max runtime; "0" or "none": spec.no_timeout
	User        string             // -u UID[:GID]: spec.user
	Workdir     string             // -w: spec.cwd
	Hostname    string             // --hostname: spec.hostname
	Network     string             // --network none|loopback|egress|host: spec.network
	Pod         string             // --pod CONTAINER: spec.pod
	Egress      client.EgressFlags // --egress, --allow-domain, --allow-cidr, --allow-port: spec.egress
	Publish     []string           // -p [HOST_IP:]HOST_PORT:CONTAINER_PORT[/tcp]: spec.published_ports
	Secrets     []string           // --secret NAME=FILE: spec.secrets, FILE's bytes at /run/secrets/NAME
	HookSet     string             // --hooks SET: spec.hook_set
	Labels      []string           // -l k=v: spec.labels
	Image       ImageOptions
}

func addContainerFlags(fs *pflag.FlagSet, o *ContainerOptions) {
	fs.SortFlags = false
	fs.StringVar(&o.Name, "name", "", "container name (default: chosen by nucleusd)")
	fs.BoolVar(&o.Rm, "rm", false, "remove the container when it exits")
	fs.BoolVarP(&o.Interactive, "interactive", "i", false, "keep stdin open (run forwards nucleusctl's stdin)")
	fs.BoolVarP(&o.TTY, "tty", "t", false, "run the process on a terminal the container keeps (attach to it later); with -i and a local terminal, run puts it in raw mode and restores it at the end")
	fs.StringArrayVarP(&o.Env, "env", "e", nil, "set an environment variable K=V, or pass K from this environment (repeatable)")
	fs.StringArrayVar(&o.EnvFiles, "env-file", nil, "read environment variables from a file of K=V lines (repeatable)")
	fs.StringArrayVarP(&o.Volumes, "volume", "v", nil, "bind mount a host path: SRC:DST[:ro|rw] (repeatable)")
	fs.StringArrayVar(&o.Tmpfs, "tmpfs", nil, "mount a tmpfs: DST[:size=64m] (repeatable)")
	fs.StringVar(&o.Rootfs, "rootfs", "", "host directory to use, read-only, as the root filesystem (default: an empty one with the host's /bin, /sbin, /usr, /lib and /lib64 read-only)")
	fs.StringVar(&o.Memory, "memory", "", "memory limit, e.g. 256m or 1.5g (default: nucleusd's)")
	fs.Float64Var(&o.CPUs, "cpus", 0, "CPU limit in CPUs, e.g. 1.5 (default: nucleusd's)")
	fs.Int64Var(&o.PidsLimit, "pids-limit", 0, "maximum number of tasks (default: nucleusd's)")
	fs.StringVar(&o.Timeout, "timeout", "", "maximum runtime, e.g. 30s; the container is killed when it expires; 0 or none: no timeout, if the operator allows it (default: nucleusd's)")
	fs.StringVarP(&o.User, "user", "u", "", "UID[:GID] to run as, numeric only (default 0:0); with an IMAGE, USER[:GROUP] names or ids resolved in the image (default: its USER)")
	fs.StringVarP(&o.Workdir, "workdir", "w", "", "working directory inside the container (default /)")
	fs.StringVar(&o.Hostname, "hostname", "", "hostname inside the sandbox")
	fs.StringVar(&o.Network, "network", "", "network mode: none, loopback (gVisor netstack, loopback only), egress (outbound traffic by --egress), host, if nucleusd allows it, or ns:PATH to join an existing network namespace (root only; default none; egress with --egress, --allow-* or -p)")
	fs.StringVar(&o.Pod, "pod", "", "run in the sandbox of CONTAINER (id or name), the pod's first container: share its network (localhost), limits and life")
	fs.StringVar(&o.Egress.Mode, "egress", "", "outbound traffic on the egress network: none, all or allowlist (default allowlist with --allow-domain or --allow-cidr, else none)")
	fs.StringArrayVar(&o.Egress.Domains, "allow-domain", nil, "domains the container may resolve and reach, e.g. pypi.org,*.pythonhosted.org (repeatable)")
	fs.StringArrayVar(&o.Egress.CIDRs, "allow-cidr", nil, "address ranges the container may reach, e.g. 203.0.113.0/24 (repeatable)")
	fs.StringArrayVar(&o.Egress.Ports, "allow-port", nil, "destination ports allowed, e.g. 443 (repeatable; default any)")
	fs.StringArrayVarP(&o.Publish, "publish", "p", nil, "publish a container port: [HOST_IP:]HOST_PORT:CONTAINER_PORT[/tcp] (repeatable; HOST_IP default 127.0.0.1)")
	fs.StringArrayVar(&o.Secrets, "secret", nil, "send FILE's content as secret NAME, mounted read-only at /run/secrets/NAME: NAME=FILE (repeatable)")
	fs.StringVar(&o.HookSet, "hooks", "", "operator-defined hook set to apply (default: nucleusd's default set)")
	fs.StringArrayVarP(&o.Labels, "label", "l", nil, "set a label k=v (repeatable)")
	addImageFlags(fs, &o.Image)
}

// Spec builds the ContainerSpec for the command args.
func (o *ContainerOptions) Spec(args []string, lookup client.LookupEnv) (*nucleusv1.ContainerSpec, error) {
	image, args := imageArg(args, o.Rootfs)
	spec := &nucleusv1.ContainerSpec{
		Name: o.Name, Args: args, AutoRemove: o.Rm, OpenStdin: o.Interactive, Tty: o.TTY,
		Cwd: o.Workdir, Hostname: o.Hostname, HookSet: o.HookSet,
		Resources: &nucleusv1.Resources{Cpus: o.CPUs, Pids: o.PidsLimit},
	}
	var err error
	for _, f := range o.EnvFiles {
		env, err := client.ReadEnvFile(f, lookup)
		if err != nil {
			return nil, err
		}
		spec.Env = append(spec.Env, env...)
	}
	env, err := client.ParseEnv(o.Env, lookup)
	if err != nil {
		return nil, err
	}
	spec.Env = lastWins(append(spec.Env, env...))
	for _, v := range o.Volumes {
		vol, err := client.ParseVolume(v)
		if err != nil {
			return nil, err
		}
		spec.Volumes = append(spec.Volumes, vol)
	}
	for _, v := range o.Tmpfs {
		vol, err := client.ParseTmpfs(v)
		if err != nil {
			return nil, err
		}
		spec.Volumes = append(spec.Volumes, vol)
	}
	for _, s := range o.Secrets {
		sec, err := client.ParseSecret(s)
		if err != nil {
			return nil, err
		}
		spec.Secrets = append(spec.Secrets, sec)
	}
	if spec.Labels, err = client.ParseLabels(o.Labels); err != nil {
		return nil, err
	}
	if o.Rootfs != "" {
		if spec.Rootfs, err = filepath.Abs(o.Rootfs); err != nil {
			return nil, errdefs.InvalidArgument("--rootfs: %v", err)
		}
	}
	if o.Memory != "" {
		if spec.Resources.MemoryBytes, err = client.ParseSize(o.Memory); err != nil {
			return nil, err
		}
	}
	if o.Timeout != "" {
		if err := setTimeout(spec, o.Timeout); err != nil {
			return nil, err
		}
	}
	if image != "" {
		if err := o.Image.apply(spec, image, o.User); err != nil {
			return nil, err
		}
	} else if err := o.Image.checkUnused(); err != nil {
		return nil, err
	} else if o.User != "" {
		if spec.User, err = client.ParseUser(o.User); err != nil {
			return nil, err
		}
	}
	if err := o.network(spec); err != nil {
		return nil, err
	}
	spec.Pod = o.Pod
	return spec, nil
}

// setTimeout reads --timeout: a positive duration, or "0" or "none" for no
// timeout at all (spec.no_timeout; nucleusd refuses it when the operator
// set a maximum). Leaving the flag out gives nucleusd's default.
func setTimeout(spec *nucleusv1.ContainerSpec, v string) error {
	if v == "none" {
		spec.NoTimeout = true
		return nil
	}
	d, err := time.ParseDuration(v)
	switch {
	case err != nil || d < 0:
		return errdefs.InvalidArgument("--timeout %q: want a duration such as 30s or 1h, or 0 or none for no timeout", v)
	case d == 0:
		spec.NoTimeout = true
	default:
		spec.Timeout = durationpb.New(d)
	}
	return nil
}

// lastWins keeps one K=V per key, as docker's later -e overrides an earlier
// one or an --env-file line (nucleusd refuses a key set twice): the value is
// the last one given, at the place the key first appeared.
func lastWins(env []string) []string {
	at := map[string]int{}
	out := env[:0:0]
	for _, kv := range env {
		key, _, _ := strings.Cut(kv, "=")
		if i, ok := at[key]; ok {
			out[i] = kv
			continue
		}
		at[key] = len(out)
		out = append(out, kv)
	}
	return out
}

// network sets spec.network, egress and published_ports: the egress flags
// and -p imply --network egress.
func (o *ContainerOptions) network(spec *nucleusv1.ContainerSpec) error {
	egress := o.Egress.Set() || len(o.Publish) > 0
	mode := o.Network
	if o.Pod != "" && mode == "" && !egress {
		return nil // the pod's network (nucleusd refuses network flags for a member)
	}
	if path, ok := strings.CutPrefix(mode, "ns:"); ok {
		// podman's --network ns:PATH: join an existing namespace.
		if egress {
			return errdefs.InvalidArgument("--egress, --allow-* and -p need --network egress (got --network %s)", mode)
		}
		if path == "" {
			return errdefs.InvalidArgument("--network ns:PATH needs the path of a network namespace (ns:/run/netns/NAME)")
		}
		spec.NetworkNamespace = path
		return nil
	}
	switch {
	case mode == "" && o.Egress.Mode == "none" && len(o.Egress.Domains)+len(o.Egress.CIDRs)+len(o.Egress.Ports)+len(o.Publish) == 0:
		// --egress none alone: no network at all, only lo.
		mode, egress = "none", false
	case mode == "" && egress:
		mode = "egress"
	case mode == "":
		mode = "none"
	}
	var err error
	if spec.Network, err = client.ParseNetwork(mode); err != nil {
		return err
	}
	if !egress {
		return nil
	}
	if spec.Network != "egress" {
		return errdefs.InvalidArgument("--egress, --allow-* and -p need --network egress (got --network %s)", spec.Network)
	}
	if spec.Egress, err = o.Egress.Policy(); err != nil {
		return err
	}
	for _, p := range o.Publish {
		pp, err := client.ParsePublish(p)
		if err != nil {
			return err
		}
		spec.PublishedPorts = append(spec.PublishedPorts, pp)
	}
	return nil
}
