package images

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/zstd"

	"nucleus.dev/nucleus/images/imagestest"
	"nucleus.dev/nucleus/internal/errdefs"
)

func TestUnpackCompressions(t *testing.T) {
	raw := imagestest.Tar(t, imagestest.Dir("d/"), imagestest.File("d/f", "content"))
	zw, _ := zstd.NewWriter(nil)
	for name, blob := range map[string][]byte{"gzip": imagestest.Gzip(t, raw), "zstd": zw.EncodeAll(raw, nil), "none": raw} {
		t.Run(name, func(t *testing.T) {
			dst := t.TempDir()
			u, err := newUnpacker(dst, Policy{}.WithDefaults())
			if err != nil {
				t.Fatal(err)
			}
			defer u.close()
			if err := u.layer(bytes.NewReader(blob), imagestest.Digest(raw)); err != nil {
				t.Fatal(err)
			}
			if b, err := os.ReadFile(filepath.Join(dst, "d/f")); err != nil || string(b) != "content" {
				t.Errorf("d/f = %q, %v", b, err)
			}
			// The same stream against another diff id is refused.
			u2, _ := newUnpacker(t.TempDir(), Policy{}.WithDefaults())
			defer u2.close()
			if err := u2.layer(bytes.NewReader(blob), imagestest.Digest([]byte("other"))); !errors.Is(err, errdefs.ErrInvalidArgument) {
				t.Errorf("a layer that does not match its diff id = %v, want InvalidArgument", err)
			}
		})
	}
}
