package images

// Usage is how containers use one image, as the daemon knows it.
type Usage struct {
	// Containers is the number of containers (any state) made from it.
	Containers int
	// Running is how many of them run (or are being created).
	Running int
	// Owners are the uids owning those containers (and snapshots).
	Owners []uint32
	// Snapshots is the number of snapshots of containers made from it: a
	// restore needs the image's tree, so they hold it like a running
	// container does.
	Snapshots int
}

// UsageFunc reports how containers use the image with a manifest digest.
type UsageFunc func(digest string) Usage

// RemoveOptions tunes Remove.
type RemoveOptions struct {
	Caller Caller
	// Force removes an image that stopped containers still use (never one
	// a running container or a snapshot uses), and every reference to it
	// at once.
	Force bool
	// Usage tells which containers use an image; nil means none do.
	Usage UsageFunc
}

// RemoveResult says what Remove did.
type RemoveResult struct {
	// Untagged are the references removed.
	Untagged []string
	// Deleted is the removed image, nil when only a reference went.
	Deleted *Record
}
