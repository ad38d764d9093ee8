package guest

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"syscall"

	"nucleus.dev/nucleus/fsapi/wire"
)

// list prints the entries of dir as a JSON array, at most max of them.
func list(dir string, max int64, stdout io.Writer) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	names, err := f.Readdirnames(int(max) + 1)
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if int64(len(names)) > max {
		return failf(syscall.EFBIG, "%s has more than %d entries", dir, max)
	}
	sort.Strings(names)
	out := make([]*wire.Info, 0, len(names))
	for _, n := range names {
		p := filepath.Join(dir, n)
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			continue // gone meanwhile
		}
		out = append(out, infoOf(n, p, &st))
	}
	return json.NewEncoder(stdout).Encode(out)
}

// openRegular opens p for reading, refusing anything but a regular file
// (a FIFO would block, /dev/zero never ends).
func openRegular(p string) (*os.File, *syscall.Stat_t, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		f.Close()
		return nil, nil, err
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		f.Close()
		return nil, nil, failf(syscall.EINVAL, "%s is not a regular file", p)
	}
	return f, &st, nil
}

// read prints p's Info as a JSON line, then its data.
func read(p string, max int64, stdout io.Writer) error {
	f, st, err := openRegular(p)
	if err != nil {
		return err
	}
	defer f.Close()
	if st.Size > max {
		return failf(syscall.EFBIG, "%s is %d bytes; the cap is %d", p, st.Size, max)
	}
	if err := json.NewEncoder(stdout).Encode(infoOf(filepath.Base(p), p, st)); err != nil {
		return err
	}
	n, err := copyBig(stdout, io.LimitReader(f, max+1))
	if err == nil && n > max {
		return failf(syscall.EFBIG, "%s grew beyond the cap of %d bytes", p, max)
	}
	return err
}

type writeOpts struct {
	mode     uint32
	uid, gid int
	setOwner bool
	max      int64
}

// write replaces p with the framed data on stdin: it writes a temporary
// file next to p and renames it over p only after the commit frame, so p
// is whole or unchanged.
func write(p string, o writeOpts, stdin io.Reader, stdout io.Writer) error {
	if o.mode == 0 {
		o.mode = 0o644
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".nucleus-fs-*")
	if err != nil {
		return err
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	in := &wire.FrameReader{R: bufio.NewReaderSize(stdin, copyBuffer)}
	n, err := copyBig(tmp, io.LimitReader(in, o.max+1))
	if err != nil {
		return fmt.Errorf("writing %s: %w", p, err)
	}
	if n > o.max {
		return failf(syscall.EFBIG, "%s: more than the cap of %d bytes", p, o.max)
	}
	if _, err := io.Copy(io.Discard, in); err != nil { // the commit frame
		return err
	}
	if o.setOwner {
		if err := tmp.Chown(o.uid, o.gid); err != nil {
			return err
		}
	}
	if err := tmp.Chmod(os.FileMode(o.mode&0o7777).Perm() | modeExtra(o.mode)); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return err
	}
	done = true
	info, err := lstat(p)
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(info)
}

// modeExtra maps the setuid, setgid and sticky bits of a unix mode.
func modeExtra(m uint32) os.FileMode {
	var fm os.FileMode
	if m&syscall.S_ISUID != 0 {
		fm |= os.ModeSetuid
	}
	if m&syscall.S_ISGID != 0 {
		fm |= os.ModeSetgid
	}
	if m&syscall.S_ISVTX != 0 {
		fm |= os.ModeSticky
	}
	return fm
}

func mkdir(p string, mode uint32, parents bool) error {
	if mode == 0 {
		mode = 0o755
	}
	perm := os.FileMode(mode).Perm() | modeExtra(mode)
	if parents {
		return os.MkdirAll(p, perm)
	}
	return os.Mkdir(p, perm)
}

func remove(p string, recursive bool) error {
	if p == "/" {
		return failf(syscall.EBUSY, "refusing to remove /")
	}
	if recursive {
		if _, err := os.Lstat(p); err != nil {
			return err
		}
		return os.RemoveAll(p)
	}
	return os.Remove(p)
}

// copyBuffer is the size of the helper's reads and writes: each one is a
// system call the sandbox serves, so fewer, larger ones are faster.
const copyBuffer = 1 << 20

// copyBig copies with copyBuffer-sized calls (hiding ReadFrom and WriteTo,
// whose fallbacks use 32 KiB).
func copyBig(dst io.Writer, src io.Reader) (int64, error) {
	return io.CopyBuffer(struct{ io.Writer }{dst}, struct{ io.Reader }{src}, make([]byte, copyBuffer))
}
