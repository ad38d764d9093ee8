package core

import (
	"slices"
	"testing"
)

func TestMergeEnvRequestWins(t *testing.T) {
	got := mergeEnv([]string{"PATH=/bin", "FOO=image", "BAR=image", "FOO=dup"}, []string{"FOO=req", "NEW=1"})
	want := []string{"PATH=/bin", "FOO=req", "BAR=image", "NEW=1"}
	if !slices.Equal(got, want) {
		t.Errorf("mergeEnv = %v, want %v", got, want)
	}
}

func TestImageRefPinsDigest(t *testing.T) {
	const d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for _, tc := range []struct{ ref, stored, wantRef string }{
		{"index.docker.io/library/busybox:latest", "index.docker.io/library/busybox:latest@" + d, "index.docker.io/library/busybox:latest"},
		{"reg:5000/app@" + d, "reg:5000/app@" + d, "reg:5000/app"},
		{"", d, ""},
	} {
		img := &ResolvedImage{Digest: d, Reference: tc.ref}
		if got := img.imageRef(); got != tc.stored {
			t.Errorf("imageRef(%q) = %q, want %q", tc.ref, got, tc.stored)
		}
		if gd, gr := splitImageRef(tc.stored); gd != d || gr != tc.wantRef {
			t.Errorf("splitImageRef(%q) = %q, %q", tc.stored, gd, gr)
		}
	}
}
