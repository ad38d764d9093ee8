package config

import (
	"strings"
)

// ImagesConfig is the [images] section: the operator's policy for OCI
// images (package images enforces it).
type ImagesConfig struct {
	AllowedRegistries []string      `toml:"allowed_registries" doc:"Registries (host[:port]; \"docker.io\" for Docker Hub) that non-root callers may pull from; empty allows them none. When set, root is limited to them too; empty lets root pull from any."`
	MaxCompressedSize ByteSize      `toml:"max_compressed_size" doc:"Largest sum of an image's compressed layers (pull and import); over it the pull fails with RESOURCE_EXHAUSTED and leaves nothing behind."`
	MaxUnpackedSize   ByteSize      `toml:"max_unpacked_size" doc:"Largest unpacked image (bytes of regular files, all layers); unpacking stops at it."`
	MaxLayers         int           `toml:"max_layers" doc:"Most layers an image's manifest may list; checked before any download."`
	MaxFilesPerLayer  int           `toml:"max_files_per_layer" doc:"Most entries one layer's tar may hold."`
	PullTimeout       Duration      `toml:"pull_timeout" doc:"Longest a whole pull (manifest, layers, unpack) may take."`
	AuthFile          string        `toml:"auth_file" doc:"A docker config.json (absolute path, root-owned) with per-registry credentials; empty pulls anonymously."`
	Insecure          []string      `toml:"insecure_registries" doc:"Registries (host[:port]) reached over plain HTTP or TLS without verification; no other registry is."`
	ParallelDownloads int           `toml:"parallel_downloads" doc:"Layers one pull downloads at once."`
	Mirrors           []ImageMirror `toml:"mirrors" doc:"Mirrors of a registry, tried in order before it."`
}

// ImageMirror is one [[images.mirrors]] entry.
type ImageMirror struct {
	Registry  string   `toml:"registry" doc:"The registry mirrored (host[:port]; \"docker.io\" for Docker Hub)."`
	Endpoints []string `toml:"endpoints" doc:"Mirror hosts (host[:port]), tried in order before the registry itself."`
}

// MirrorMap returns the mirrors keyed by registry.
func (c *ImagesConfig) MirrorMap() map[string][]string {
	m := map[string][]string{}
	for _, e := range c.Mirrors {
		m[e.Registry] = append(m[e.Registry], e.Endpoints...)
	}
	return m
}

func (c *ImagesConfig) validate(p *problems) {
	if c.MaxCompressedSize < MiB {
		p.add("images.max_compressed_size", "%s is too small; at least 1m", c.MaxCompressedSize)
	}
	if c.MaxUnpackedSize < MiB {
		p.add("images.max_unpacked_size", "%s is too small; at least 1m", c.MaxUnpackedSize)
	}
	if c.MaxLayers < 1 || c.MaxLayers > 10_000 {
		p.add("images.max_layers", "%d must be between 1 and 10000", c.MaxLayers)
	}
	if c.MaxFilesPerLayer < 1 {
		p.add("images.max_files_per_layer", "%d must be positive", c.MaxFilesPerLayer)
	}
	if c.PullTimeout <= 0 {
		p.add("images.pull_timeout", "%s must be positive", c.PullTimeout)
	}
	if c.ParallelDownloads < 1 || c.ParallelDownloads > 64 {
		p.add("images.parallel_downloads", "%d must be between 1 and 64", c.ParallelDownloads)
	}
	checkAbs(p, "images.auth_file", c.AuthFile, true)
	for _, r := range c.AllowedRegistries {
		checkRegistry(p, "images.allowed_registries", r)
	}
	for _, r := range c.Insecure {
		checkRegistry(p, "images.insecure_registries", r)
	}
	for _, e := range c.Mirrors {
		checkRegistry(p, "images.mirrors.registry", e.Registry)
		for _, m := range e.Endpoints {
			checkRegistry(p, "images.mirrors.endpoints", m)
		}
	}
}

// checkRegistry refuses what is not a bare host[:port]: no scheme, path
// or spaces.
func checkRegistry(p *problems, key, r string) {
	if r == "" || strings.ContainsAny(r, "/ \t@") || strings.Contains(r, "://") {
		p.add(key, "%q is not a registry host[:port] (no scheme or path)", r)
	}
}
