package snapshots

import (
	"nucleus.dev/nucleus/internal/errdefs"
)

// Limits are the operator's byte limits; 0 means no limit.
type Limits struct {
	MaxBytes       int64 // one snapshot
	MaxBytesPerUID int64 // all of one owner's snapshots
	MaxTotalBytes  int64 // all snapshots
}

// Check fails with ResourceExhausted when a new snapshot of size bytes
// would break a limit, given what the owner (ownerBytes) and everyone
// (totalBytes) already hold.
func (l Limits) Check(size, ownerBytes, totalBytes int64) error {
	switch {
	case l.MaxBytes > 0 && size > l.MaxBytes:
		return errdefs.ResourceExhausted("the snapshot is %d bytes; at most %d are allowed (snapshots.max_bytes)", size, l.MaxBytes)
	case l.MaxBytesPerUID > 0 && ownerBytes+size > l.MaxBytesPerUID:
		return errdefs.ResourceExhausted("the snapshot (%d bytes) would bring your snapshots to %d bytes; at most %d are allowed (snapshots.max_bytes_per_uid)", size, ownerBytes+size, l.MaxBytesPerUID)
	case l.MaxTotalBytes > 0 && totalBytes+size > l.MaxTotalBytes:
		return errdefs.ResourceExhausted("the snapshot (%d bytes) would bring all snapshots to %d bytes; at most %d are allowed (snapshots.max_total_bytes)", size, totalBytes+size, l.MaxTotalBytes)
	}
	return nil
}

// Usage sums the sizes of recs: the owner's and everyone's.
func Usage(recs []*Record, owner uint32) (ownerBytes, totalBytes int64) {
	for _, r := range recs {
		totalBytes += r.SizeBytes
		if r.OwnerUID == owner {
			ownerBytes += r.SizeBytes
		}
	}
	return ownerBytes, totalBytes
}
