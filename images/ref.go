package images

import (
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"nucleus.dev/nucleus/internal/errdefs"
)

// maxRefLen bounds a reference before it is parsed.
const maxRefLen = 1024

// NormalizeRef returns the full form of a reference, the key records are
// stored under: "busybox" → "index.docker.io/library/busybox:latest",
// "reg:5000/app@sha256:…" unchanged. Bad input is InvalidArgument.
func NormalizeRef(ref string) (string, error) {
	r, err := parseRef(ref)
	if err != nil {
		return "", err
	}
	return r.Name(), nil
}

func parseRef(ref string, opts ...name.Option) (name.Reference, error) {
	if ref == "" || len(ref) > maxRefLen {
		return nil, errdefs.InvalidArgument("image reference must be 1 to %d characters", maxRefLen)
	}
	r, err := name.ParseReference(ref, opts...)
	if err != nil {
		return nil, errdefs.InvalidArgument("image reference %q: %v", ref, err)
	}
	return r, nil
}

// RegistryOf returns the registry host of a reference ("index.docker.io"
// for Docker Hub names), as Policy.AllowedRegistries matches it.
func RegistryOf(ref string) (string, error) {
	r, err := parseRef(ref)
	if err != nil {
		return "", err
	}
	return r.Context().RegistryStr(), nil
}

// asDigest reports whether s is a full "sha256:<64 hex>" digest.
func asDigest(s string) (string, bool) {
	hex, ok := strings.CutPrefix(s, "sha256:")
	if !ok || len(hex) != 64 || !isHex(hex) {
		return "", false
	}
	return s, true
}

// refDigest returns the digest of a by-digest reference.
func refDigest(ref string) (string, bool) {
	_, d, ok := strings.Cut(ref, "@")
	if !ok {
		return "", false
	}
	return asDigest(d)
}

// isHexPrefix reports whether s looks like a short image id (12+ hex).
func isHexPrefix(s string) bool { return len(s) >= 12 && len(s) <= 64 && isHex(s) }

func isHex(s string) bool {
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// sameRegistry compares registry names, treating docker.io and
// index.docker.io as one.
func sameRegistry(a, b string) bool {
	canon := func(s string) string {
		s = strings.ToLower(s)
		if s == "docker.io" || s == "registry-1.docker.io" {
			return name.DefaultRegistry
		}
		return s
	}
	return canon(a) == canon(b)
}
