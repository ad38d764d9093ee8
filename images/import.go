package images

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"

	"nucleus.dev/nucleus/internal/errdefs"
)

// maxImportEntries bounds the entries of an import tar (blobs, not files:
// the layers inside are tars of their own).
const maxImportEntries = 100_000

// Import reads an OCI image layout tar or a `docker save` tar from r, as
// caller, and stores and unpacks every image in it (the linux/amd64 entry of
// an index). The same caps as Pull apply; r is read only once and spooled
// into tmp/ within the caps. References come from the layout's annotations
// (io.containerd.image.name, or a org.opencontainers.image.ref.name that is
// a full reference) or the docker tar's RepoTags; an image without one is
// known by its digest only. The tar is never extracted: its entries are
// read as blobs by name. Anyone may import (it reaches no registry).
func (s *Store) Import(ctx context.Context, r io.Reader, caller Caller, progress ProgressFunc) ([]*Record, error) {
	ctx, cancel := context.WithTimeout(ctx, s.pol.PullTimeout)
	defer cancel()
	progress = progress.serialized()
	spool, err := s.spool(ctx, r)
	if err != nil {
		return nil, err
	}
	defer func() {
		spool.Close()
		os.Remove(spool.Name())
	}()
	arc, err := indexTar(spool)
	if err != nil {
		return nil, err
	}
	var srcs []*imageSource
	switch {
	case arc.has("index.json"):
		srcs, err = arc.ociImages(s.pol)
	case arc.has("manifest.json"):
		srcs, err = arc.dockerImages(s.pol)
	default:
		err = errdefs.InvalidArgument("not an OCI image layout (no index.json) nor a docker save tar (no manifest.json)")
	}
	if err != nil {
		return nil, err
	}
	if len(srcs) == 0 {
		return nil, errdefs.InvalidArgument("the archive holds no linux/amd64 image")
	}
	var out []*Record
	for _, src := range srcs {
		progress.report(Progress{Ref: firstOr(src.refs, src.digest), Phase: PhaseResolving})
		rec, err := s.commit(ctx, src, caller, progress)
		if err != nil {
			return out, fmt.Errorf("import %s: %w", firstOr(src.refs, short(src.digest)), err)
		}
		out = append(out, rec)
	}
	return out, nil
}

func firstOr(refs []string, d string) string {
	if len(refs) > 0 {
		return refs[0]
	}
	return d
}

// spool copies r into an unlinked-on-return temp file, within the caps.
func (s *Store) spool(ctx context.Context, r io.Reader) (*os.File, error) {
	f, err := os.CreateTemp(s.tmpDir(), "import-")
	if err != nil {
		return nil, fmt.Errorf("images: %w", err)
	}
	limit := max(s.pol.MaxCompressedBytes, s.pol.MaxUnpackedBytes) + 64<<20
	n, err := io.Copy(f, io.LimitReader(ctxReader{ctx, r}, limit+1))
	if err == nil && n > limit {
		err = errdefs.ResourceExhausted("the archive is larger than %d bytes", limit)
	}
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("import: %w", err)
	}
	return f, nil
}

// archive is an import tar indexed by entry name, read in place.
type archive struct {
	f       *os.File
	entries map[string]section
}

type section struct{ off, size int64 }

func indexTar(f *os.File) (*archive, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	cr := &countingReader{r: f}
	tr := tar.NewReader(cr)
	a := &archive{f: f, entries: map[string]section{}}
	for n := 0; ; n++ {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return a, nil
		}
		if err != nil {
			return nil, errdefs.InvalidArgument("the archive is not a valid tar: %v", err)
		}
		if n >= maxImportEntries {
			return nil, errdefs.ResourceExhausted("the archive has more than %d entries", maxImportEntries)
		}
		if hdr.Typeflag == tar.TypeReg {
			a.entries[cleanPath(hdr.Name)] = section{off: cr.n, size: hdr.Size}
		}
	}
}

func (a *archive) has(name string) bool { _, ok := a.entries[name]; return ok }

// open returns the content of entry name.
func (a *archive) open(name string) (*io.SectionReader, error) {
	s, ok := a.entries[cleanPath(name)]
	if !ok {
		return nil, errdefs.InvalidArgument("the archive has no %s", path.Clean(name))
	}
	return io.NewSectionReader(a.f, s.off, s.size), nil
}

// read returns a small entry's content.
func (a *archive) read(name string) ([]byte, error) {
	r, err := a.open(name)
	if err != nil {
		return nil, err
	}
	if r.Size() > maxSmallBlob {
		return nil, errdefs.ResourceExhausted("%s is larger than %d bytes", name, maxSmallBlob)
	}
	return io.ReadAll(r)
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
