package core

import (
	"encoding/json"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/bundle"
	"nucleus.dev/nucleus/daemon/store"
	"nucleus.dev/nucleus/internal/errdefs"
)

// bundleRequest maps the API spec onto the bundle package's request,
// applying the daemon's [defaults] where the spec is silent.
func (d *Daemon) bundleRequest(spec *nucleusv1.ContainerSpec) (*bundle.Request, error) {
	req := &bundle.Request{
		Args:        spec.GetArgs(),
		Env:         spec.GetEnv(),
		Cwd:         spec.GetCwd(),
		Hostname:    spec.GetHostname(),
		Annotations: spec.GetAnnotations(),
		Labels:      spec.GetLabels(),
		Sysctls:     spec.GetSysctls(),
		Rootfs:      spec.GetRootfs(),
		Terminal:    spec.GetTty(),
	}
	if u := spec.GetUser(); u != nil {
		req.User = bundle.User{UID: u.GetUid(), GID: u.GetGid(), AdditionalGIDs: u.GetAdditionalGids()}
	}
	if un := spec.GetUserNamespace(); un != nil {
		req.UserNamespace = bundleUserNamespace(un)
	}
	if raw := spec.GetSeccompProfileJson(); len(raw) > 0 {
		var sc specs.LinuxSeccomp
		if err := json.Unmarshal(raw, &sc); err != nil {
			return nil, errdefs.InvalidArgument("seccomp_profile_json is not an OCI seccomp profile: %v", err)
		}
		req.Seccomp = &sc
	}
	for i, v := range spec.GetVolumes() {
		vol := bundle.Volume{Source: v.GetSource(), Destination: v.GetDestination(), ReadOnly: v.GetReadOnly(), SizeBytes: v.GetSizeBytes()}
		switch v.GetType() {
		case nucleusv1.VolumeType_VOLUME_TYPE_BIND:
			vol.Type = bundle.VolumeBind
		case nucleusv1.VolumeType_VOLUME_TYPE_TMPFS:
			vol.Type = bundle.VolumeTmpfs
			if vol.SizeBytes == 0 {
				vol.SizeBytes = int64(d.cfg.Defaults.TmpSize)
			}
		default:
			return nil, errdefs.InvalidArgument("volumes[%d]: type must be BIND or TMPFS", i)
		}
		req.Volumes = append(req.Volumes, vol)
	}
	for _, s := range spec.GetSecrets() {
		req.Secrets = append(req.Secrets, bundle.Secret{
			Name: s.GetName(), Data: s.GetData(), Destination: s.GetDestination(), Mode: os.FileMode(s.GetMode()),
		})
	}
	r := spec.GetResources()
	req.Resources = bundle.Resources{MemoryBytes: r.GetMemoryBytes(), CPUs: r.GetCpus(), Pids: r.GetPids()}
	if req.Resources.MemoryBytes == 0 {
		req.Resources.MemoryBytes = int64(d.cfg.Defaults.Memory)
	}
	if req.Resources.CPUs == 0 {
		req.Resources.CPUs = d.cfg.Defaults.CPUs
	}
	if req.Resources.Pids == 0 {
		req.Resources.Pids = d.cfg.Defaults.Pids
	}
	return req, nil
}

func idMappings(in []*nucleusv1.IDMapping) []bundle.IDMapping {
	out := make([]bundle.IDMapping, 0, len(in))
	for _, m := range in {
		out = append(out, bundle.IDMapping{ContainerID: m.GetContainerId(), HostID: m.GetHostId(), Size: m.GetSize()})
	}
	return out
}

func timestamp(t interface{ IsZero() bool }) bool { return !t.IsZero() }

// toAPI renders a record for callers.
// toAPI converts a record for the API. It never changes c (List passes the
// store's shared copies), and the result shares c's spec, labels and
// warnings: callers must not change those either.
func toAPI(c *store.Container) *nucleusv1.Container {
	out := &nucleusv1.Container{
		Id:           c.ID,
		Name:         c.Name,
		Spec:         c.Spec,
		State:        c.State,
		OwnerUid:     c.OwnerUID,
		Labels:       c.Labels,
		Pid:          int32(c.Pid),
		Bundle:       c.BundleDir,
		HookSet:      c.HookSet,
		RunscVersion: c.RunscVersion,
		Warnings:     c.Warnings,
		RestoredFrom: c.RestoredFrom,
		IpAddress:    c.IPAddress,
	}
	if c.IPAddress != "" {
		out.Ports = c.Spec.GetPublishedPorts()
	}
	imageAPI(out, c.Spec)
	if timestamp(c.CreatedAt) {
		out.CreatedAt = timestamppb.New(c.CreatedAt)
	}
	if timestamp(c.StartedAt) {
		out.StartedAt = timestamppb.New(c.StartedAt)
	}
	if timestamp(c.FinishedAt) {
		out.FinishedAt = timestamppb.New(c.FinishedAt)
	}
	if c.Exit != nil {
		out.Exit = exitToAPI(c.Exit)
	}
	if c.Spec != nil && c.Timeout > 0 && c.Spec.GetTimeout() == nil {
		// Records written before the effective timeout went into the
		// stored spec (see Create). c may be the store's shared copy:
		// change a copy.
		out.Spec = proto.CloneOf(c.Spec)
		out.Spec.Timeout = durationpb.New(c.Timeout)
	}
	return out
}

func exitToAPI(e *store.Exit) *nucleusv1.ExitStatus {
	if e == nil {
		return nil
	}
	return &nucleusv1.ExitStatus{ExitCode: e.Code, Signal: e.Signal, OomKilled: e.OOMKilled, Reason: e.Reason, Message: e.Message}
}

func bundleUserNamespace(un *nucleusv1.UserNamespace) *bundle.UserNamespace {
	return &bundle.UserNamespace{
		UIDMappings: idMappings(un.GetUidMappings()),
		GIDMappings: idMappings(un.GetGidMappings()),
	}
}
