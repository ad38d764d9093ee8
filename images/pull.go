package images

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"nucleus.dev/nucleus/internal/errdefs"
)

// hostPlatform is the entry Pull and Import pick from an index.
var hostPlatform = v1.Platform{OS: "linux", Architecture: "amd64"}

// Pull fetches ref (a tag or a digest) from its registry, or a mirror, as
// caller, stores and unpacks it, and returns its record. An image already
// stored by digest is not downloaded again (its reference is still
// re-resolved for tags). Concurrent pulls of one reference, and downloads
// of one blob, are shared. Errors: InvalidArgument for a bad reference,
// PermissionDenied for a registry the policy does not allow, NotFound for a
// missing image, ResourceExhausted over a cap, DeadlineExceeded past the
// pull timeout, Unavailable when the registry cannot be reached.
func (s *Store) Pull(ctx context.Context, ref string, caller Caller, progress ProgressFunc) (*Record, error) {
	r, err := parseRef(ref)
	if err != nil {
		return nil, err
	}
	if err := s.allowed(r.Context().RegistryStr(), caller); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.pol.PullTimeout)
	defer cancel()
	progress = progress.serialized()
	progress.report(Progress{Ref: r.Name(), Phase: PhaseResolving})
	if d, ok := r.(name.Digest); ok && s.haveImage(d.DigestStr()) {
		rec, err := s.addRefs(d.DigestStr(), []string{r.Name()})
		if err == nil {
			progress.reportCached(rec)
		}
		return rec, err
	}
	ran := false
	v, err, _ := s.pulls.Do(r.Name(), func() (any, error) {
		ran = true
		src, err := s.resolve(ctx, r)
		if err != nil {
			return nil, err
		}
		return s.commit(ctx, src, caller, progress)
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("pull %s: %w", r.Name(), ctxErr(ctx.Err()))
		}
		return nil, fmt.Errorf("pull %s: %w", r.Name(), err)
	}
	rec, err := s.recs.Get(v.(*Record).Digest)
	if err == nil && !ran {
		// Joined another caller's pull, whose progress went to it: this
		// caller still sees every layer, complete.
		progress.reportCached(rec)
	}
	return rec, err
}

// allowed applies AllowedRegistries: when set it binds everyone; when
// empty, root may pull from anywhere and others from nowhere.
func (s *Store) allowed(registry string, caller Caller) error {
	if len(s.pol.AllowedRegistries) == 0 {
		if caller.IsRoot() {
			return nil
		}
		return errdefs.PermissionDenied("pulling is limited to root: the operator allows no registries for other users ([images] allowed_registries)")
	}
	if slices.ContainsFunc(s.pol.AllowedRegistries, func(a string) bool { return sameRegistry(a, registry) }) {
		return nil
	}
	return errdefs.PermissionDenied("registry %s is not in [images] allowed_registries", registry)
}

func (s *Store) insecure(registry string) bool {
	return slices.ContainsFunc(s.pol.Insecure, func(a string) bool { return sameRegistry(a, registry) })
}

// resolve fetches the manifest (the host platform's, from an index) and
// config of r, trying the registry's mirrors first, and checks the caps
// that need no layer download.
func (s *Store) resolve(ctx context.Context, r name.Reference) (*imageSource, error) {
	var errs []error
	for _, c := range s.candidates(r) {
		src, err := s.resolveAt(ctx, c)
		if err == nil {
			src.refs = []string{r.Name()}
			return src, nil
		}
		if errors.Is(err, errdefs.ErrResourceExhausted) || errors.Is(err, errdefs.ErrInvalidArgument) || ctx.Err() != nil {
			return nil, err
		}
		errs = append(errs, err)
	}
	return nil, errs[len(errs)-1]
}

// candidates is r on each mirror of its registry, then r itself.
func (s *Store) candidates(r name.Reference) []name.Reference {
	var out []name.Reference
	reg := r.Context().RegistryStr()
	for host, mirrors := range s.pol.Mirrors {
		if !sameRegistry(host, reg) {
			continue
		}
		for _, m := range mirrors {
			sep := ":"
			if _, ok := r.(name.Digest); ok {
				sep = "@"
			}
			var opts []name.Option
			if s.insecure(m) {
				opts = append(opts, name.Insecure)
			}
			if mr, err := name.ParseReference(m+"/"+r.Context().RepositoryStr()+sep+r.Identifier(), opts...); err == nil {
				out = append(out, mr)
			}
		}
	}
	if s.insecure(reg) {
		if ir, err := name.ParseReference(r.String(), name.Insecure); err == nil {
			r = ir
		}
	}
	return append(out, r)
}

func (s *Store) resolveAt(ctx context.Context, r name.Reference) (*imageSource, error) {
	opts := []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(authFile(s.pol.AuthFile)),
		remote.WithTransport(httpsOnly{inner: http.DefaultTransport.(*http.Transport).Clone(), s: s}),
	}
	img, err := pickImage(r, opts)
	if err != nil {
		return nil, err
	}
	raw, err := img.RawManifest()
	if err != nil {
		return nil, remoteErr(err)
	}
	src := &imageSource{manifest: raw, digest: digestOf(raw)}
	if s.haveImage(src.digest) {
		return src, nil // commit only adds the reference
	}
	if src.parsed, err = parseManifest(raw, s.pol); err != nil {
		return nil, err
	}
	if src.config, err = img.RawConfigFile(); err != nil {
		return nil, remoteErr(err)
	}
	if digestOf(src.config) != string(src.parsed.Config.Digest) {
		return nil, errdefs.InvalidArgument("image config does not match its digest %s", src.parsed.Config.Digest)
	}
	if src.image, err = parseConfig(src.config, len(src.parsed.Layers)); err != nil {
		return nil, err
	}
	for _, d := range src.parsed.Layers {
		h, err := v1.NewHash(string(d.Digest))
		if err != nil {
			return nil, errdefs.InvalidArgument("layer digest: %v", err)
		}
		src.layers = append(src.layers, layerSource{desc: d, open: func(context.Context) (io.ReadCloser, error) {
			l, err := img.LayerByDigest(h)
			if err != nil {
				return nil, remoteErr(err)
			}
			rc, err := l.Compressed()
			if err != nil {
				return nil, remoteErr(err)
			}
			return rc, nil
		}})
	}
	return src, nil
}

// haveImage reports whether the image of a manifest digest is stored,
// record and tree.
func (s *Store) haveImage(digest string) bool {
	rec, err := s.recs.Get(digest)
	if err != nil {
		return false
	}
	_, err = os.Lstat(s.RootFS(rec))
	return err == nil
}

// pickImage fetches r's manifest; for an index, the host platform's entry
// (NotFound when it has none).
func pickImage(r name.Reference, opts []remote.Option) (v1.Image, error) {
	desc, err := remote.Get(r, opts...)
	if err != nil {
		return nil, remoteErr(err)
	}
	if !desc.MediaType.IsIndex() {
		img, err := desc.Image()
		if err != nil {
			return nil, remoteErr(err)
		}
		return img, nil
	}
	idx, err := desc.ImageIndex()
	if err != nil {
		return nil, remoteErr(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, remoteErr(err)
	}
	for _, m := range im.Manifests {
		if p := m.Platform; p != nil && p.OS == hostPlatform.OS && p.Architecture == hostPlatform.Architecture && m.MediaType.IsImage() {
			img, err := remote.Image(r.Context().Digest(m.Digest.String()), opts...)
			if err != nil {
				return nil, remoteErr(err)
			}
			return img, nil
		}
	}
	return nil, errdefs.NotFound("%s has no %s/%s image", r, hostPlatform.OS, hostPlatform.Architecture)
}
