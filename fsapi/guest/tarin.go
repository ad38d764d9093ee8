package guest

import (
	"archive/tar"
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"nucleus.dev/nucleus/fsapi/wire"
)

// tarIn extracts the framed tar on stdin into the existing directory dir
// and prints a wire.Extracted. Entry names must be relative without ".."
// components, and no entry is written below a symlink; devices and FIFOs
// are refused; file data beyond max bytes is refused with EFBIG. Owners,
// modes and times are kept.
func tarIn(dir string, max int64, stdin io.Reader, stdout io.Writer) error {
	st, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return failf(syscall.ENOTDIR, "%s is not a directory", dir)
	}
	x, err := Extract(dir, &wire.FrameReader{R: bufio.NewReaderSize(stdin, copyBuffer)}, ExtractOptions{Max: max, Owners: true})
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(x)
}

// ExtractOptions tune Extract.
type ExtractOptions struct {
	Max int64 // file data, in bytes, beyond which Extract fails with EFBIG
	// Owners sets each entry's uid and gid (else the extracting user's).
	Owners bool
	// Rename, when set, maps each entry's (and hard link's) name first.
	Rename func(string) string
}

// Extract extracts the tar r yields into the existing directory dir with
// tarIn's rules: no absolute names, no ".." components, nothing written
// below a symlink, no devices or FIFOs; modes and times kept.
func Extract(dir string, r io.Reader, o ExtractOptions) (wire.Extracted, error) {
	x := &extractor{dir: filepath.Clean(dir), left: o.Max, o: o}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return wire.Extracted{}, err
		}
		if o.Rename != nil {
			h.Name = o.Rename(h.Name)
			if h.Typeflag == tar.TypeLink {
				h.Linkname = o.Rename(h.Linkname)
			}
		}
		if err := x.entry(h, tr); err != nil {
			return wire.Extracted{}, err
		}
	}
	for _, d := range x.dirTimes { // after their contents changed them
		_ = os.Chtimes(d.path, d.mtime, d.mtime)
	}
	return wire.Extracted{Entries: x.entries, Bytes: x.bytes}, nil
}

type extractor struct {
	dir            string
	left           int64
	o              ExtractOptions
	entries, bytes uint64
	dirTimes       []struct {
		path  string
		mtime time.Time
	}
}

// relName checks an entry or hard link name and returns it relative and
// clean ("" for the root itself).
func relName(name string) (string, error) {
	if strings.HasPrefix(name, "/") {
		return "", failf(syscall.EINVAL, "tar entry %q is absolute", name)
	}
	for _, c := range strings.Split(name, "/") {
		if c == ".." {
			return "", failf(syscall.EINVAL, "tar entry %q has a \"..\" component", name)
		}
	}
	rel := filepath.Clean(name)
	if rel == "." {
		return "", nil
	}
	return rel, nil
}

// parentOK checks that every existing directory between x.dir and rel is
// a real directory, not a symlink, and creates missing ones.
func (x *extractor) parentOK(rel string) error {
	p := x.dir
	parts := strings.Split(rel, "/")
	for _, c := range parts[:len(parts)-1] {
		p = filepath.Join(p, c)
		var st syscall.Stat_t
		err := syscall.Lstat(p, &st)
		if errors.Is(err, syscall.ENOENT) {
			if err := os.Mkdir(p, 0o755); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		if st.Mode&syscall.S_IFMT != syscall.S_IFDIR {
			return failf(syscall.EINVAL, "tar entry %q is below %s, which is not a directory (a symlink?)", rel, p)
		}
	}
	return nil
}

func (x *extractor) entry(h *tar.Header, r io.Reader) error {
	rel, err := relName(h.Name)
	if err != nil || rel == "" {
		return err
	}
	switch h.Typeflag {
	case tar.TypeDir, tar.TypeReg, tar.TypeSymlink, tar.TypeLink:
	default:
		return failf(syscall.EINVAL, "tar entry %q has type %q; only files, directories and links are copied", h.Name, h.Typeflag)
	}
	if err := x.parentOK(rel); err != nil {
		return err
	}
	dst := filepath.Join(x.dir, rel)
	var old syscall.Stat_t
	exists := syscall.Lstat(dst, &old) == nil
	isDir := exists && old.Mode&syscall.S_IFMT == syscall.S_IFDIR
	if isDir && h.Typeflag != tar.TypeDir {
		return failf(syscall.EISDIR, "tar entry %q would replace a directory", h.Name)
	}
	if exists && !isDir {
		if err := os.Remove(dst); err != nil {
			return err
		}
	}
	x.entries++
	switch h.Typeflag {
	case tar.TypeDir:
		if !isDir {
			if err := os.Mkdir(dst, 0o700); err != nil {
				return err
			}
		}
		x.dirTimes = append(x.dirTimes, struct {
			path  string
			mtime time.Time
		}{dst, h.ModTime})
	case tar.TypeSymlink:
		if err := os.Symlink(h.Linkname, dst); err != nil {
			return err
		}
		if !x.o.Owners {
			return nil
		}
		return os.Lchown(dst, h.Uid, h.Gid)
	case tar.TypeLink:
		target, err := relName(h.Linkname)
		if err != nil || target == "" {
			return failf(syscall.EINVAL, "tar entry %q links to %q", h.Name, h.Linkname)
		}
		if err := x.parentOK(target); err != nil {
			return err
		}
		return os.Link(filepath.Join(x.dir, target), dst)
	case tar.TypeReg:
		if err := x.file(dst, h, r); err != nil {
			return err
		}
	}
	if x.o.Owners {
		if err := os.Lchown(dst, h.Uid, h.Gid); err != nil {
			return err
		}
	}
	// After chown, which clears the setuid and setgid bits.
	if err := os.Chmod(dst, os.FileMode(h.Mode).Perm()|modeExtra(uint32(h.Mode))); err != nil {
		return err
	}
	if h.Typeflag == tar.TypeReg {
		return os.Chtimes(dst, h.ModTime, h.ModTime)
	}
	return nil
}

func (x *extractor) file(dst string, h *tar.Header, r io.Reader) error {
	if h.Size > x.left {
		return failf(syscall.EFBIG, "the copy exceeds its cap at %q", h.Name)
	}
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	n, err := copyBig(f, io.LimitReader(r, h.Size))
	x.left -= n
	x.bytes += uint64(n)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
