package service

import (
	"context"
	"errors"
	"io"
	"strings"

	"google.golang.org/protobuf/types/known/timestamppb"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/daemon/auth"
	"nucleus.dev/nucleus/daemon/core"
	"nucleus.dev/nucleus/images"
	"nucleus.dev/nucleus/internal/errdefs"
)

// ImageMetrics counts pulls and imports (daemon/metrics implements it).
type ImageMetrics interface {
	ObserveImagePull(source string, err error)
}

// imageOps is what the Images service and the core's ImageResolver share:
// the store, the events and the metrics of every pull.
type imageOps struct {
	store   *images.Store
	d       *core.Daemon
	metrics ImageMetrics
}

func imageCaller(id auth.Identity) images.Caller { return images.Caller{UID: uint32(id.UID)} }

// pull pulls ref for caller, then records the event and the metric.
func (o *imageOps) pull(ctx context.Context, caller auth.Identity, ref string, progress images.ProgressFunc) (*images.Record, error) {
	rec, err := o.store.Pull(ctx, ref, imageCaller(caller), progress)
	o.observe("pull", err)
	if err != nil {
		return nil, err
	}
	norm, _ := images.NormalizeRef(ref)
	o.d.PublishImageEvent(nucleusv1.EventType_EVENT_TYPE_IMAGE_PULLED, uint32(caller.UID), rec.Digest, norm)
	return rec, nil
}

// importArchive imports an archive for caller and tags an image that the
// archive names no reference for with ref (when given).
func (o *imageOps) importArchive(ctx context.Context, caller auth.Identity, r io.Reader, ref string) ([]*images.Record, error) {
	norm := ""
	if ref != "" {
		var err error
		if norm, err = images.NormalizeRef(ref); err != nil {
			return nil, err
		}
	}
	recs, err := o.store.Import(ctx, r, imageCaller(caller), nil)
	o.observe("import", err)
	if err != nil {
		return nil, err
	}
	for _, rec := range recs {
		if norm != "" && len(recs) == 1 && len(rec.References) == 0 {
			rec.References = []string{norm}
			if err := o.d.Store().Images().Put(rec); err != nil {
				return nil, err
			}
		}
		o.d.PublishImageEvent(nucleusv1.EventType_EVENT_TYPE_IMAGE_IMPORTED, uint32(caller.UID), rec.Digest, strings.Join(rec.References, ","))
	}
	return recs, nil
}

func (o *imageOps) observe(source string, err error) {
	if o.metrics != nil {
		o.metrics.ObserveImagePull(source, err)
	}
}

// usage returns the images.UsageFunc of the daemon's containers.
func (o *imageOps) usage() (images.UsageFunc, error) {
	use, err := o.d.ImageUsage()
	if err != nil {
		return nil, err
	}
	return func(digest string) images.Usage {
		u := use[digest]
		return images.Usage{Containers: u.Containers, Running: u.Running, Owners: u.Owners, Snapshots: u.Snapshots}
	}, nil
}

// Resolve implements core.ImageResolver.
func (o *imageOps) Resolve(ctx context.Context, caller auth.Identity, ref string, policy nucleusv1.PullPolicy) (*core.ResolvedImage, error) {
	var rec *images.Record
	var err error
	switch policy {
	case nucleusv1.PullPolicy_PULL_POLICY_ALWAYS:
		rec, err = o.pull(ctx, caller, ref, nil)
	default:
		rec, err = o.store.Get(ref)
		if errors.Is(err, errdefs.ErrNotFound) {
			if policy == nucleusv1.PullPolicy_PULL_POLICY_NEVER {
				return nil, errdefs.NotFound("image %q is not on this host and pull_policy is NEVER", ref)
			}
			if strings.HasPrefix(ref, "sha256:") {
				return nil, errdefs.NotFound("image %s is not on this host (a bare digest cannot be pulled: name its repository)", ref)
			}
			rec, err = o.pull(ctx, caller, ref, nil)
		}
	}
	if err != nil {
		return nil, err
	}
	img := &core.ResolvedImage{
		Digest: rec.Digest, RootFS: o.store.RootFS(rec), Handle: rec,
		Entrypoint: rec.Config.Entrypoint, Cmd: rec.Config.Cmd, Env: rec.Config.Env,
		WorkingDir: rec.Config.WorkingDir, User: rec.Config.User,
	}
	if !strings.HasPrefix(ref, "sha256:") {
		img.Reference, _ = images.NormalizeRef(ref)
	}
	return img, nil
}

// ResolveUser implements core.ImageResolver.
func (o *imageOps) ResolveUser(img *core.ResolvedImage, user string) (uint32, uint32, []uint32, error) {
	rec, ok := img.Handle.(*images.Record)
	if !ok {
		return 0, 0, nil, errdefs.FailedPrecondition("image %s was not resolved by the image store", img.Digest)
	}
	return o.store.ResolveUser(rec, user)
}

// imageToAPI renders a record; containers is how many containers use it.
func (o *imageOps) imageToAPI(rec *images.Record, containers int) *nucleusv1.Image {
	c := rec.Config
	out := &nucleusv1.Image{
		Digest: rec.Digest, References: rec.References,
		SizeBytes: rec.CompressedSize + rec.UnpackedSize, UnpackedBytes: rec.UnpackedSize,
		OwnerUids: []uint32{rec.PulledBy}, SkippedSpecialFiles: int64(rec.Skipped.Total()),
		ConfigDigest: rec.ConfigDigest, Containers: int32(containers),
		Config: &nucleusv1.ImageConfig{
			Entrypoint: c.Entrypoint, Cmd: c.Cmd, Env: c.Env, WorkingDir: c.WorkingDir, User: c.User,
			Labels: c.Labels, StopSignal: c.StopSignal,
		},
	}
	for p := range c.ExposedPorts {
		out.Config.ExposedPorts = append(out.Config.ExposedPorts, p)
	}
	for v := range c.Volumes {
		out.Config.Volumes = append(out.Config.Volumes, v)
	}
	if !rec.Created.IsZero() {
		out.Created = timestamppb.New(rec.Created)
	}
	if !rec.Stored.IsZero() {
		out.PulledAt = timestamppb.New(rec.Stored)
	}
	for _, l := range rec.Layers {
		out.Layers = append(out.Layers, &nucleusv1.ImageLayer{Digest: l.Digest, SizeBytes: l.Size, MediaType: l.MediaType})
	}
	return out
}
