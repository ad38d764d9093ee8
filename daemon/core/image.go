package core

import (
	"context"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"

	"google.golang.org/protobuf/proto"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/bundle"
	"nucleus.dev/nucleus/daemon/auth"
	"nucleus.dev/nucleus/daemon/store"
	"nucleus.dev/nucleus/internal/errdefs"
)

// ImageResolver turns ContainerSpec.image into a root and a config. The
// daemon wires in an adapter over package images; the core knows nothing
// of registries, blobs or unpacking.
type ImageResolver interface {
	// Resolve finds the image ref for caller, pulling it as policy says
	// (a pull is subject to the caller's registry policy).
	Resolve(ctx context.Context, caller auth.Identity, ref string, policy nucleusv1.PullPolicy) (*ResolvedImage, error)
	// ResolveUser resolves "user[:group]" in the image's own /etc/passwd
	// and /etc/group.
	ResolveUser(img *ResolvedImage, user string) (uid, gid uint32, additional []uint32, err error)
}

// ResolvedImage is what a create needs of an image.
type ResolvedImage struct {
	Digest    string // manifest digest, "sha256:..."
	Reference string // normalized reference; empty when asked by digest
	RootFS    string // the unpacked, read-only tree
	// The image config.
	Entrypoint, Cmd, Env []string
	WorkingDir, User     string
	// Handle is the resolver's own record, passed back to ResolveUser.
	Handle any
}

// imageRef is the pinned form kept in the stored spec's image field:
// "<reference>@<digest>", or the digest alone.
func (img *ResolvedImage) imageRef() string {
	if img.Reference == "" {
		return img.Digest
	}
	return strings.SplitN(img.Reference, "@", 2)[0] + "@" + img.Digest
}

// splitImageRef undoes imageRef: the digest and the reference of a stored
// spec's image field.
func splitImageRef(s string) (digest, ref string) {
	if strings.HasPrefix(s, "sha256:") {
		return s, ""
	}
	i := strings.LastIndex(s, "@")
	if i < 0 {
		return "", s
	}
	return s[i+1:], s[:i]
}

// applyImage resolves spec.image and returns the effective spec (the
// image's config applied the docker way, image pinned to its digest, what
// the record stores) and the root for the bundle. Without an image it
// returns spec unchanged and a nil root.
func (d *Daemon) applyImage(ctx context.Context, caller auth.Identity, spec *nucleusv1.ContainerSpec) (*nucleusv1.ContainerSpec, *bundle.ImageRoot, error) {
	if spec.GetImage() == "" {
		switch {
		case spec.GetImageUser() != "", len(spec.GetEntrypoint()) > 0, spec.GetClearEntrypoint(), spec.GetResources().GetDiskBytes() != 0:
			return nil, nil, errdefs.InvalidArgument("image_user, entrypoint, clear_entrypoint and resources.disk_bytes apply only to a container that runs from an image (image)")
		}
		return spec, nil, nil
	}
	switch {
	case d.images == nil:
		return nil, nil, errdefs.FailedPrecondition("this nucleusd has no image store")
	case spec.GetRootfs() != "":
		return nil, nil, errdefs.InvalidArgument("rootfs and image are exclusive: a container runs from a host directory or from an image")
	case spec.GetUser() != nil && spec.GetImageUser() != "":
		return nil, nil, errdefs.InvalidArgument("user and image_user are exclusive")
	case len(spec.GetEntrypoint()) > 0 && spec.GetClearEntrypoint():
		return nil, nil, errdefs.InvalidArgument("entrypoint and clear_entrypoint are exclusive")
	case spec.GetResources().GetDiskBytes() < 0:
		return nil, nil, errdefs.InvalidArgument("resources.disk_bytes must not be negative")
	}
	if _, ok := nucleusv1.PullPolicy_name[int32(spec.GetPullPolicy())]; !ok {
		return nil, nil, errdefs.InvalidArgument("pull_policy %d is unknown", spec.GetPullPolicy())
	}
	disk := spec.GetResources().GetDiskBytes()
	if disk == 0 {
		disk = int64(d.cfg.Defaults.Disk)
	}
	if !d.exempt(caller) {
		if err := d.ceil.CheckDisk(disk); err != nil {
			return nil, nil, err
		}
	}
	img, err := d.images.Resolve(ctx, caller, spec.GetImage(), spec.GetPullPolicy())
	if err != nil {
		return nil, nil, err
	}
	eff := proto.CloneOf(spec)
	eff.Image = img.imageRef()
	if eff.Resources == nil {
		eff.Resources = &nucleusv1.Resources{}
	}
	eff.Resources.DiskBytes = disk // pinned: a restore needs the same overlay size
	entry := img.Entrypoint
	switch {
	case spec.GetClearEntrypoint():
		entry = nil
	case len(spec.GetEntrypoint()) > 0:
		entry = spec.GetEntrypoint()
	}
	cmd := img.Cmd
	if len(spec.GetArgs()) > 0 || len(spec.GetEntrypoint()) > 0 || spec.GetClearEntrypoint() {
		// docker: --entrypoint resets the image's CMD too.
		cmd = spec.GetArgs()
	}
	eff.Args = append(slices.Clone(entry), cmd...)
	if len(eff.Args) == 0 {
		return nil, nil, errdefs.InvalidArgument("image %s has no Entrypoint or Cmd: give a command", spec.GetImage())
	}
	eff.Env = mergeEnv(img.Env, spec.GetEnv())
	if eff.Cwd == "" {
		eff.Cwd = img.WorkingDir
	}
	if spec.GetUser() == nil {
		user := spec.GetImageUser()
		if user == "" {
			user = img.User
		}
		if user != "" {
			uid, gid, extra, err := d.images.ResolveUser(img, user)
			if err != nil {
				return nil, nil, err
			}
			// As docker (containerd's WithAdditionalGIDs): the primary
			// group is among the supplementary ones.
			if !slices.Contains(extra, gid) {
				extra = append([]uint32{gid}, extra...)
			}
			eff.User = &nucleusv1.User{Uid: uid, Gid: gid, AdditionalGids: extra}
		}
	}
	return eff, &bundle.ImageRoot{Dir: img.RootFS, DiskBytes: disk}, nil
}

// mergeEnv is the image's environment with the request's entries
// replacing those of the same key (docker's rule), in the image's order
// then the request's new keys.
func mergeEnv(image, req []string) []string {
	key := func(e string) string { k, _, _ := strings.Cut(e, "="); return k }
	override := map[string]string{}
	for _, e := range req {
		override[key(e)] = e
	}
	out := make([]string, 0, len(image)+len(req))
	seen := map[string]bool{}
	for _, e := range image {
		k := key(e)
		if seen[k] {
			continue
		}
		seen[k] = true
		if o, ok := override[k]; ok {
			out = append(out, o)
			continue
		}
		out = append(out, e)
	}
	for _, e := range req {
		if k := key(e); !seen[k] {
			seen[k] = true
			out = append(out, e)
		}
	}
	return out
}

// ImageUse is how containers and snapshots use one image.
type ImageUse struct {
	Containers, Running int
	Owners              []uint32
	// Snapshots of containers of the image: a restore needs its tree.
	Snapshots int
}

// ImageUsage reports, for every image digest that container or snapshot
// records name, how they use it. A container that is being created counts
// as running.
func (d *Daemon) ImageUsage() (map[string]ImageUse, error) {
	recs, err := d.store.ViewContainers(func(c *store.Container) bool { return c.Spec.GetImage() != "" })
	if err != nil {
		return nil, err
	}
	out := map[string]ImageUse{}
	for _, c := range recs {
		digest, _ := splitImageRef(c.Spec.GetImage())
		u := out[digest]
		u.Containers++
		switch c.State {
		case nucleusv1.ContainerState_CONTAINER_STATE_CREATING, nucleusv1.ContainerState_CONTAINER_STATE_RUNNING,
			nucleusv1.ContainerState_CONTAINER_STATE_PAUSED, nucleusv1.ContainerState_CONTAINER_STATE_CREATED:
			u.Running++
		}
		u.addOwner(c.OwnerUID)
		out[digest] = u
	}
	return out, d.snapshotImageUsage(out)
}

func (u *ImageUse) addOwner(uid uint32) {
	if !slices.Contains(u.Owners, uid) {
		u.Owners = append(u.Owners, uid)
	}
}

// LockImages holds off creates between their image resolution and their
// record, so a removal that checked ImageUsage cannot pull a tree from
// under a create. The returned func unlocks.
func (d *Daemon) LockImages() func() {
	d.imageMu.Lock()
	return d.imageMu.Unlock
}

// imageAPI fills the container's image fields from its stored spec.
func imageAPI(out *nucleusv1.Container, spec *nucleusv1.ContainerSpec) {
	if spec.GetImage() == "" {
		return
	}
	out.ImageDigest, out.ImageReference = splitImageRef(spec.GetImage())
	out.ResolvedProcess = &nucleusv1.ResolvedProcess{Args: spec.GetArgs(), Env: spec.GetEnv(), Cwd: spec.GetCwd(), User: spec.GetUser()}
	if out.ResolvedProcess.Cwd == "" {
		out.ResolvedProcess.Cwd = "/"
	}
}

// createImage applies spec's image (see applyImage; pinnedImage for a
// restore, whose spec is the snapshot's effective one) and holds off image
// removals until the caller's release, which the create calls once its
// record is stored (idempotent; also deferred for failures).
func (d *Daemon) createImage(ctx context.Context, caller auth.Identity, spec *nucleusv1.ContainerSpec, restore bool) (*nucleusv1.ContainerSpec, *bundle.ImageRoot, func(), error) {
	apply := d.applyImage
	if restore {
		apply = d.pinnedImage
	}
	eff, root, err := apply(ctx, caller, spec)
	if err != nil || root == nil {
		return eff, root, func() {}, err
	}
	d.imageMu.RLock()
	var once sync.Once
	release := func() { once.Do(d.imageMu.RUnlock) }
	if _, err := os.Stat(root.Dir); err != nil {
		release()
		return nil, nil, release, errdefs.FailedPrecondition("image %s was removed while the container was being created; try again", spec.GetImage())
	}
	return eff, root, release, nil
}

// UseImages makes ContainerSpec.image resolve through r; without it image
// containers are refused. Call it once, before serving.
func (d *Daemon) UseImages(r ImageResolver) { d.images = r }

// Store returns the daemon's store (the image store keeps its records
// there).
func (d *Daemon) Store() *store.Store { return d.store }

// PublishImageEvent records an image event (pulled, imported, removed)
// through the container events machinery: no container id, the digest
// and reference as attributes, and the caller's uid as owner_uid, so a
// non-root subscriber sees the image events it caused.
func (d *Daemon) PublishImageEvent(typ nucleusv1.EventType, callerUID uint32, digest, ref string) {
	attrs := map[string]string{"image_digest": digest, ownerAttr: strconv.FormatUint(uint64(callerUID), 10)}
	if ref != "" {
		attrs["image_reference"] = ref
	}
	d.publish(typ, nil, "", 0, attrs)
}
