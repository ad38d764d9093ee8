package snapshots

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"golang.org/x/sys/unix"
)

// CommitUnsealed renames the written checkpoint into place before it is
// sealed: the daemon answers the checkpoint at once and seals it (Dir.Seal)
// in the background. Until the seal ends the files may exist only in the
// page cache: a host crash can lose them, which is why the daemon records
// the boot an unsealed snapshot belongs to and discards it after a reboot.
func (p *Pending) CommitUnsealed() error {
	if err := os.Rename(p.tmp, p.d.Path(p.id)); err != nil {
		return fmt.Errorf("committing snapshot %s: %w", p.id, err)
	}
	return nil
}

// Seal makes snapshot id durable and checkable: every file 0600 and
// fsync'd, a manifest with each file's chunk digests written durably, the
// snapshots directory fsync'd. A manifest left by an interrupted seal is
// replaced. It returns the digest, the size and the files' signature.
func (d *Dir) Seal(id string) (digest string, size int64, sig Signature, err error) {
	if !idPattern.MatchString(id) {
		return "", 0, nil, fmt.Errorf("snapshot id %q is not 32 lowercase hex characters", id)
	}
	dir := d.Path(id)
	if err := os.Remove(filepath.Join(dir, ManifestFile)); err != nil && !os.IsNotExist(err) {
		return "", 0, nil, fmt.Errorf("sealing snapshot %s: removing an old manifest: %w", id, err)
	}
	m, err := writeManifest(dir)
	if err != nil {
		return "", 0, nil, fmt.Errorf("sealing snapshot %s: %w", id, err)
	}
	if err := syncDir(d.path); err != nil {
		return "", 0, nil, fmt.Errorf("sealing snapshot %s: %w", id, err)
	}
	sig, err = signature(dir)
	if err != nil {
		return "", 0, nil, fmt.Errorf("sealing snapshot %s: %w", id, err)
	}
	return m.digest, m.size, sig, nil
}

// Signature identifies the exact files of a sealed snapshot (name, inode,
// size, change time, manifest included): any write, truncation,
// replacement or added file changes it.
type Signature []fileStamp

type fileStamp struct {
	name  string
	ino   uint64
	size  int64
	ctime unix.Timespec
}

func signature(dir string) (Signature, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	sig := make(Signature, 0, len(entries))
	for _, e := range entries {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(dir, e.Name()), &st); err != nil {
			return nil, err
		}
		sig = append(sig, fileStamp{name: e.Name(), ino: st.Ino, size: st.Size, ctime: st.Ctim})
	}
	return sig, nil
}

// Unchanged reports whether snapshot id's files still carry sig, the
// signature its seal returned: then they hold exactly what the seal hashed
// and a restore need not read them all again to verify them.
func (d *Dir) Unchanged(id string, sig Signature) bool {
	if len(sig) == 0 || !idPattern.MatchString(id) {
		return false
	}
	now, err := signature(d.Path(id))
	return err == nil && slices.Equal(now, sig)
}
