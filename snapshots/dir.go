package snapshots

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"golang.org/x/sys/unix"

	"nucleus.dev/nucleus/internal/errdefs"
)

// tmpPrefix marks a snapshot being written; Open removes every such dir.
const tmpPrefix = ".tmp-"

var idPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// Dir is the directory holding every snapshot's files.
type Dir struct {
	path string
}

// Open prepares <root>/snapshots (0700) and removes what a crash left:
// unfinished checkpoints, and snapshot directories that known does not
// name (their record was never committed, or was removed).
func Open(root string, known func(id string) bool) (*Dir, error) {
	path := filepath.Join(root, "snapshots")
	if err := os.MkdirAll(path, 0o700); err != nil {
		return nil, fmt.Errorf("creating the snapshots directory: %w", err)
	}
	if err := os.Chmod(path, 0o700); err != nil {
		return nil, fmt.Errorf("securing the snapshots directory: %w", err)
	}
	d := &Dir{path: path}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, fmt.Errorf("reading the snapshots directory: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, tmpPrefix) || !idPattern.MatchString(name) || !known(name) {
			if err := os.RemoveAll(filepath.Join(path, name)); err != nil {
				return nil, fmt.Errorf("removing the leftover %s: %w", name, err)
			}
		}
	}
	return d, nil
}

// Path is the directory of snapshot id.
func (d *Dir) Path(id string) string { return filepath.Join(d.path, id) }

// Pending is a snapshot being written.
type Pending struct {
	d   *Dir
	id  string
	tmp string
}

// Begin creates the temporary directory a checkpoint writes into.
func (d *Dir) Begin(id string) (*Pending, error) {
	if !idPattern.MatchString(id) {
		return nil, errdefs.InvalidArgument("snapshot id %q is not 32 lowercase hex characters", id)
	}
	tmp := filepath.Join(d.path, tmpPrefix+id)
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return nil, fmt.Errorf("creating %s: %w", tmp, err)
	}
	return &Pending{d: d, id: id, tmp: tmp}, nil
}

// Path is where the checkpoint writes its files.
func (p *Pending) Path() string { return p.tmp }

// Size is the bytes written so far.
func (p *Pending) Size() (int64, error) {
	files, err := listFiles(p.tmp)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, f := range files {
		n += f.Size
	}
	return n, nil
}

// Abort removes everything written.
func (p *Pending) Abort() error { return os.RemoveAll(p.tmp) }

// Remove deletes snapshot id's files.
func (d *Dir) Remove(id string) error {
	if !idPattern.MatchString(id) {
		return errdefs.InvalidArgument("snapshot id %q is not 32 lowercase hex characters", id)
	}
	// Renamed first, so a crash mid-removal leaves a .tmp- dir Open removes.
	gone := filepath.Join(d.path, tmpPrefix+"rm-"+id)
	if err := os.Rename(d.Path(id), gone); err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return fmt.Errorf("removing snapshot %s: %w", id, err)
	}
	return os.RemoveAll(gone)
}

func syncDir(path string) error {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening %s: %w", path, err)
	}
	defer unix.Close(fd)
	if err := unix.Fsync(fd); err != nil {
		return fmt.Errorf("fsync %s: %w", path, err)
	}
	return nil
}
