package guest

import (
	"archive/tar"
	"bufio"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// tarOut prints src's Info as a JSON line, then a tar of src rooted at
// its base name (docker cp): a file, or a directory tree with symlinks as
// links and hard links as links. A src ending in "/." archives the
// directory's contents instead. File data beyond max bytes in total is
// refused with EFBIG.
func tarOut(src string, max int64, stdout io.Writer) error {
	contents := strings.HasSuffix(src, "/.")
	clean := filepath.Clean(src)
	info, err := lstat(clean)
	if err != nil {
		return err
	}
	if err := json.NewEncoder(stdout).Encode(info); err != nil {
		return err
	}
	root := filepath.Base(clean)
	if contents || clean == "/" {
		root = "."
	}
	bw := bufio.NewWriterSize(stdout, copyBuffer)
	if err := Archive(bw, clean, root, max); err != nil {
		return err
	}
	return bw.Flush()
}

// Archive writes a tar of src to w with its entries named below root
// (src itself is root): modes, owners and times kept, symlinks and hard
// links as links, devices, FIFOs and sockets left out. File data beyond
// max bytes is refused with EFBIG.
func Archive(w io.Writer, src, root string, max int64) error {
	tw := tar.NewWriter(w)
	t := &tarWriter{tw: tw, left: max, links: map[[2]uint64]string{}}
	err := filepath.WalkDir(src, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		return t.add(p, path.Join(root, rel))
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

type tarWriter struct {
	tw    *tar.Writer
	left  int64
	links map[[2]uint64]string // (dev, inode) of files with more links -> first name
}

func (t *tarWriter) add(p, name string) error {
	var st syscall.Stat_t
	if err := syscall.Lstat(p, &st); err != nil {
		return &os.PathError{Op: "lstat", Path: p, Err: err}
	}
	h := &tar.Header{Name: name, Mode: int64(st.Mode & 0o7777), Uid: int(st.Uid), Gid: int(st.Gid),
		ModTime: time.Unix(st.Mtim.Sec, 0)} // whole seconds, as tar keeps them
	switch st.Mode & syscall.S_IFMT {
	case syscall.S_IFDIR:
		h.Typeflag, h.Name = tar.TypeDir, name+"/"
	case syscall.S_IFLNK:
		target, err := os.Readlink(p)
		if err != nil {
			return err
		}
		h.Typeflag, h.Linkname = tar.TypeSymlink, target
	case syscall.S_IFREG:
		key := [2]uint64{uint64(st.Dev), st.Ino}
		if first, ok := t.links[key]; ok && st.Nlink > 1 {
			h.Typeflag, h.Linkname = tar.TypeLink, first
			return t.tw.WriteHeader(h)
		}
		if st.Nlink > 1 {
			t.links[key] = name
		}
		if st.Size > t.left {
			return failf(syscall.EFBIG, "the files exceed the cap of the copy")
		}
		t.left -= st.Size
		h.Typeflag, h.Size = tar.TypeReg, st.Size
		f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := t.tw.WriteHeader(h); err != nil {
			return err
		}
		// A file that shrank meanwhile fails the copy; one that grew is cut.
		_, err = io.CopyN(t.tw, f, st.Size)
		return err
	default:
		return nil // devices, FIFOs and sockets are not copied
	}
	return t.tw.WriteHeader(h)
}
