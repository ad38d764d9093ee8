package images

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"nucleus.dev/nucleus/images/imagestest"
	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/internal/testutil"
)

// ociLayoutTar is img in an OCI image layout, as a tar, named ref.
func ociLayoutTar(t testing.TB, img v1.Image, ref string) []byte {
	t.Helper()
	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": ref})); err != nil {
		t.Fatal(err)
	}
	return tarDir(t, dir)
}

// tarDir is the tar of dir's regular files and directories.
func tarDir(t testing.TB, dir string) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fi, _ := d.Info()
		hdr, _ := tar.FileInfoHeader(fi, "")
		hdr.Name = rel
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if d.Type().IsRegular() {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = io.Copy(tw, f)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	tw.Close()
	return buf.Bytes()
}

func dockerSaveTar(t testing.TB, img v1.Image, ref string) []byte {
	t.Helper()
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := tarball.Write(tag, img, &buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestImportOCILayout(t *testing.T) {
	testutil.RequireRoot(t, "to give unpacked files their owners")
	img := busyboxImage(t)
	s, _ := openStore(t, testPolicy(nil))
	recs, err := s.Import(context.Background(), bytes.NewReader(ociLayoutTar(t, img, "registry.example/app:v1")), Caller{UID: 1000}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := img.Digest()
	if len(recs) != 1 || recs[0].Digest != want.String() || recs[0].PulledBy != 1000 {
		t.Fatalf("import = %+v", recs)
	}
	if got, err := s.Get("registry.example/app:v1"); err != nil || got.Digest != want.String() {
		t.Fatalf("Get by the layout's ref name = %v, %v", got, err)
	}
	checkBusyboxTree(t, s.RootFS(recs[0]))
}

func TestImportDockerSave(t *testing.T) {
	testutil.RequireRoot(t, "to give unpacked files their owners")
	img := busyboxImage(t)
	s, _ := openStore(t, testPolicy(nil))
	recs, err := s.Import(context.Background(), bytes.NewReader(dockerSaveTar(t, img, "registry.example/app:v2")), root0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].References[0] != "registry.example/app:v2" || recs[0].Config.User != "app" {
		t.Fatalf("import = %+v", recs)
	}
	checkBusyboxTree(t, s.RootFS(recs[0]))
}

func TestImportRefusesBadArchives(t *testing.T) {
	s, root := openStore(t, testPolicy(nil))
	for name, b := range map[string][]byte{
		"not a tar":      []byte("hello"),
		"empty tar":      imagestest.Tar(t),
		"bad index":      imagestest.Tar(t, imagestest.File("index.json", "{"), imagestest.File("oci-layout", `{"imageLayoutVersion":"1.0.0"}`)),
		"missing blob":   imagestest.Tar(t, imagestest.File("index.json", `{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":2,"digest":"`+imagestest.Digest([]byte("{}"))+`"}]}`)),
		"escaping names": imagestest.Tar(t, imagestest.File("manifest.json", `[{"Config":"../../../etc/passwd","Layers":["/etc/shadow"]}]`)),
	} {
		if _, err := s.Import(context.Background(), bytes.NewReader(b), root0, nil); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("%s: import = %v, want InvalidArgument", name, err)
		}
	}
	pol := testPolicy(nil)
	pol.MaxCompressedBytes, pol.MaxUnpackedBytes = 1<<10, 1<<10
	small, _ := openStore(t, pol)
	big := bytes.Repeat([]byte{0}, 80<<20)
	if _, err := small.Import(context.Background(), bytes.NewReader(big), root0, nil); !errors.Is(err, errdefs.ErrResourceExhausted) {
		t.Errorf("an archive over the caps = %v, want ResourceExhausted", err)
	}
	assertEmptyStore(t, root)
}
