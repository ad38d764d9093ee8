package snapshots

import "time"

// Record is what the daemon's store keeps about a snapshot.
type Record struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	OwnerUID   uint32 `json:"owner_uid"`
	SourceID   string `json:"source_id"`
	SourceName string `json:"source_name"`
	// Spec is the source container's spec, encoded by the daemon (secret
	// data never included); a restore recreates the container from it.
	Spec []byte `json:"spec"`
	// HookSet is the hook set the source container ran with.
	HookSet      string    `json:"hook_set"`
	SizeBytes    int64     `json:"size_bytes"`
	CreatedAt    time.Time `json:"created_at"`
	RunscVersion string    `json:"runsc_version"`
	// Digest is "sha256:<hex>" of the manifest.
	Digest      string `json:"digest"`
	Compression string `json:"compression"`
	LeftRunning bool   `json:"left_running"`
	// Sealing is set while the files are not yet durable and digested
	// (the seal runs after the checkpoint answered); Digest is empty then.
	Sealing bool `json:"sealing,omitempty"`
	// BootID is the host boot an unsealed snapshot was written in: after a
	// reboot its files may be incomplete, so it is discarded, not sealed.
	BootID string `json:"boot_id,omitempty"`
	// SealError says why the seal failed; the files are removed then and
	// the record stays so that its owner learns why.
	SealError string `json:"seal_error,omitempty"`
}

// Records stores snapshot records; the daemon's store implements it.
type Records interface {
	// PutSnapshot adds rec; AlreadyExists when the owner has a snapshot of
	// that name.
	PutSnapshot(rec *Record) error
	// GetSnapshot returns the record of id, NotFound when none.
	GetSnapshot(id string) (*Record, error)
	// ListSnapshots returns every record.
	ListSnapshots() ([]*Record, error)
	// UpdateSnapshot replaces the record of rec.ID (NotFound when none).
	UpdateSnapshot(rec *Record) error
	// DeleteSnapshot removes the record of id (no error when none).
	DeleteSnapshot(id string) error
}
