package images

import (
	"context"
	"encoding/json"
	"io"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"nucleus.dev/nucleus/internal/errdefs"
)

// maxIndexDepth bounds nested indexes in a layout.
const maxIndexDepth = 4

// ociImages reads the images an OCI layout's index.json names.
func (a *archive) ociImages(pol Policy) ([]*imageSource, error) {
	raw, err := a.read("index.json")
	if err != nil {
		return nil, err
	}
	var out []*imageSource
	err = a.walkIndex(raw, nil, 0, pol, &out)
	return out, err
}

func (a *archive) walkIndex(raw []byte, refs []string, depth int, pol Policy, out *[]*imageSource) error {
	if depth > maxIndexDepth {
		return errdefs.InvalidArgument("indexes nest deeper than %d", maxIndexDepth)
	}
	var idx ocispec.Index
	if err := json.Unmarshal(raw, &idx); err != nil {
		return errdefs.InvalidArgument("index is not valid JSON: %v", err)
	}
	for _, d := range idx.Manifests {
		if p := d.Platform; p != nil && (p.OS != hostPlatform.OS || p.Architecture != hostPlatform.Architecture) {
			continue
		}
		dr := refs
		if r := refFromAnnotations(d.Annotations); r != "" {
			dr = []string{r}
		}
		b, err := a.blob(d.Digest)
		if err != nil {
			return err
		}
		switch d.MediaType {
		case ocispec.MediaTypeImageIndex, "application/vnd.docker.distribution.manifest.list.v2+json":
			if err := a.walkIndex(b, dr, depth+1, pol, out); err != nil {
				return err
			}
		default:
			src, err := a.ociImage(b, pol)
			if err != nil {
				return err
			}
			src.refs = dr
			*out = append(*out, src)
		}
	}
	return nil
}

// refFromAnnotations returns the full reference a layout names an image
// by, "" when it names none (a bare tag has no repository).
func refFromAnnotations(an map[string]string) string {
	for _, k := range []string{"io.containerd.image.name", ocispec.AnnotationRefName} {
		v := an[k]
		if v == "" || !strings.ContainsAny(v, "/:@") {
			continue
		}
		if r, err := NormalizeRef(v); err == nil {
			return r
		}
	}
	return ""
}

// blob reads a small blob of the layout, checked against its digest.
func (a *archive) blob(d digest.Digest) ([]byte, error) {
	if _, ok := asDigest(string(d)); !ok {
		return nil, errdefs.InvalidArgument("digest %q is not a sha256 digest", d)
	}
	b, err := a.read("blobs/sha256/" + d.Encoded())
	if err != nil {
		return nil, err
	}
	if digestOf(b) != string(d) {
		return nil, errdefs.InvalidArgument("blob %s does not match its digest", d)
	}
	return b, nil
}

func (a *archive) ociImage(manifest []byte, pol Policy) (*imageSource, error) {
	src := &imageSource{manifest: manifest, digest: digestOf(manifest)}
	var err error
	if src.parsed, err = parseManifest(manifest, pol); err != nil {
		return nil, err
	}
	if src.config, err = a.blob(src.parsed.Config.Digest); err != nil {
		return nil, err
	}
	if src.image, err = parseConfig(src.config, len(src.parsed.Layers)); err != nil {
		return nil, err
	}
	for _, l := range src.parsed.Layers {
		name := "blobs/sha256/" + l.Digest.Encoded()
		src.layers = append(src.layers, layerSource{desc: l, open: func(context.Context) (io.ReadCloser, error) {
			r, err := a.open(name)
			return io.NopCloser(r), err
		}})
	}
	return src, nil
}
