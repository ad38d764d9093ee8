package images

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"nucleus.dev/nucleus/internal/errdefs"
)

// dockerImages reads the images of a `docker save` tar's manifest.json.
// Its layers carry no digests, so each is hashed in place, and an OCI
// manifest is made for it: that manifest's digest is the image's identity.
func (a *archive) dockerImages(pol Policy) ([]*imageSource, error) {
	raw, err := a.read("manifest.json")
	if err != nil {
		return nil, err
	}
	var entries []struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	if err := json.Unmarshal(raw, &entries); err != nil {
		return nil, errdefs.InvalidArgument("manifest.json is not valid: %v", err)
	}
	var out []*imageSource
	for _, e := range entries {
		if len(e.Layers) > pol.MaxLayers {
			return nil, errdefs.ResourceExhausted("image has %d layers; at most %d are allowed (max_layers)", len(e.Layers), pol.MaxLayers)
		}
		src, err := a.dockerImage(e.Config, e.Layers, pol)
		if err != nil {
			return nil, err
		}
		for _, t := range e.RepoTags {
			if r, err := NormalizeRef(t); err == nil {
				src.refs = append(src.refs, r)
			}
		}
		out = append(out, src)
	}
	return out, nil
}

func (a *archive) dockerImage(configName string, layers []string, pol Policy) (*imageSource, error) {
	config, err := a.read(configName)
	if err != nil {
		return nil, err
	}
	m := ocispec.Manifest{
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: digest.Digest(digestOf(config)), Size: int64(len(config))},
	}
	m.SchemaVersion = 2
	for _, name := range layers {
		r, err := a.open(name)
		if err != nil {
			return nil, err
		}
		d, gz, err := hashSection(r)
		if err != nil {
			return nil, err
		}
		mt := ocispec.MediaTypeImageLayer
		if gz {
			mt = ocispec.MediaTypeImageLayerGzip
		}
		m.Layers = append(m.Layers, ocispec.Descriptor{MediaType: mt, Digest: digest.Digest(d), Size: r.Size()})
	}
	manifest, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	src := &imageSource{manifest: manifest, digest: digestOf(manifest), config: config}
	if src.parsed, err = parseManifest(manifest, pol); err != nil {
		return nil, err
	}
	if src.image, err = parseConfig(config, len(layers)); err != nil {
		return nil, err
	}
	for i, l := range src.parsed.Layers {
		name := layers[i]
		src.layers = append(src.layers, layerSource{desc: l, open: func(context.Context) (io.ReadCloser, error) {
			r, err := a.open(name)
			return io.NopCloser(r), err
		}})
	}
	return src, nil
}

// hashSection returns the sha256 of r and whether it is gzip.
func hashSection(r *io.SectionReader) (string, bool, error) {
	h := sha256.New()
	br := bufio.NewReader(io.NewSectionReader(r, 0, r.Size()))
	head, _ := br.Peek(2)
	if _, err := io.Copy(h, br); err != nil {
		return "", false, err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), bytes.HasPrefix(head, gzipMagic), nil
}
