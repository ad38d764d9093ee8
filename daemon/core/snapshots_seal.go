package core

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/snapshots"
)

// bootIDFile names the current boot; an unsealed snapshot of another boot
// may have lost data that was only in the page cache.
const bootIDFile = "/proc/sys/kernel/random/boot_id"

func readBootID() (string, error) {
	b, err := os.ReadFile(bootIDFile)
	if err != nil {
		return "", fmt.Errorf("reading the boot id: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// sealedFiles remembers the file signature of every snapshot this daemon
// sealed: a restore of one whose files still carry it skips re-reading
// them (the seal hashed exactly these bytes).
type sealedFiles struct {
	mu   sync.Mutex
	sigs map[string]snapshots.Signature
}

func (s *sealedFiles) put(id string, sig snapshots.Signature) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sigs == nil {
		s.sigs = map[string]snapshots.Signature{}
	}
	s.sigs[id] = sig
}

func (s *sealedFiles) get(id string) snapshots.Signature {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sigs[id]
}

func (s *sealedFiles) forget(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sigs, id)
}

// sealInBackground seals rec after the checkpoint answered; unlock (the
// snapshot's lock, held so that restores and removals wait) is released
// when the seal ends. Close waits for it.
func (d *Daemon) sealInBackground(rec *snapshots.Record, unlock func()) {
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		defer unlock()
		begin := time.Now()
		if err := d.seal(rec); err != nil {
			d.log.Error("sealing a snapshot", zap.String("snapshot", rec.ID), zap.Error(err))
			return
		}
		d.log.Debug("snapshot sealed", zap.String("snapshot", rec.ID), zap.Duration("took", time.Since(begin)))
	}()
}

// seal makes rec's files durable and digested and records the digest. On
// failure the files are removed and the record keeps the reason
// (SealError), so that the owner learns why the snapshot cannot be
// restored; the caller holds the snapshot's lock.
func (d *Daemon) seal(rec *snapshots.Record) error {
	digest, size, sig, err := d.snaps.Seal(rec.ID)
	if err == nil {
		rec.Digest, rec.SizeBytes, rec.Sealing, rec.SealError = digest, size, false, ""
		if err = d.store.UpdateSnapshot(rec); err == nil {
			d.sealed.put(rec.ID, sig)
			return nil
		}
		if errors.Is(err, errdefs.ErrNotFound) {
			return err // removed meanwhile (a removal during a resumed seal)
		}
	}
	d.failSeal(rec, err.Error())
	return fmt.Errorf("sealing snapshot %s: %w", rec.Name, err)
}

// failSeal removes rec's files and records why.
func (d *Daemon) failSeal(rec *snapshots.Record, why string) {
	if err := d.snaps.Remove(rec.ID); err != nil {
		d.log.Error("removing the files of an unsealed snapshot", zap.String("snapshot", rec.ID), zap.Error(err))
	}
	rec.Digest, rec.SizeBytes, rec.Sealing, rec.SealError = "", 0, false, why
	if err := d.store.UpdateSnapshot(rec); err != nil {
		d.log.Error("recording a failed seal", zap.String("snapshot", rec.ID), zap.String("why", why), zap.Error(err))
	}
}

// resumeSeals finishes the seals a daemon crash interrupted: a snapshot
// written in this boot has all its bytes (in the page cache at least) and
// is sealed again from the start; one of an earlier boot may have lost
// some, so its files are removed and its record says why.
func (d *Daemon) resumeSeals() error {
	recs, err := d.store.ListSnapshots()
	if err != nil {
		return fmt.Errorf("listing snapshots: %w", err)
	}
	for _, r := range recs {
		if !r.Sealing {
			continue
		}
		if r.BootID != d.bootID {
			d.log.Warn("discarding a snapshot the host restarted before it was on disk", zap.String("snapshot", r.ID))
			d.failSeal(r, "the host restarted before the snapshot was on disk; it was discarded")
			continue
		}
		d.log.Info("resuming the seal of a snapshot", zap.String("snapshot", r.ID))
		d.sealInBackground(r, d.locks.lock("snapshot:"+r.ID))
	}
	return nil
}
