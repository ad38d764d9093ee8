package runsc

import (
	"context"
	"path/filepath"
)

// Compression values runsc checkpoint accepts.
const (
	CompressionNone     = "none"
	CompressionFlate    = "flate-best-speed"
	compressionFlagName = "--compression="
)

// CheckpointOptions are runsc checkpoint's flags.
type CheckpointOptions struct {
	// ImagePath is the directory the image is written to (absolute).
	ImagePath string
	// LeaveRunning keeps the container running; otherwise the sandbox
	// exits once saved.
	LeaveRunning bool
	// Compression is CompressionNone or CompressionFlate; empty leaves
	// runsc's default.
	Compression string
	// ExcludeZeroPages leaves committed all-zero pages out of the image.
	ExcludeZeroPages bool
	// Direct writes the pages file with O_DIRECT.
	Direct bool
}

// Checkpoint saves the container's sandbox to o.ImagePath.
func (r *Runsc) Checkpoint(ctx context.Context, id string, o CheckpointOptions) error {
	if !filepath.IsAbs(o.ImagePath) {
		return invalid("checkpoint image path %q is not absolute", o.ImagePath)
	}
	args := []string{"--image-path=" + o.ImagePath}
	if o.LeaveRunning {
		args = append(args, "--leave-running")
	}
	switch o.Compression {
	case "":
	case CompressionNone, CompressionFlate:
		args = append(args, compressionFlagName+o.Compression)
	default:
		return invalid("checkpoint compression %q is not %s or %s", o.Compression, CompressionNone, CompressionFlate)
	}
	if o.ExcludeZeroPages {
		args = append(args, "--exclude-committed-zero-pages")
	}
	if o.Direct {
		args = append(args, "--direct")
	}
	_, err := r.run(ctx, invocation{verb: "checkpoint", id: id, args: append(args, id)})
	return err
}

// RestoreOptions are runsc restore's flags.
type RestoreOptions struct {
	// ImagePath is the checkpoint image directory (absolute).
	ImagePath string
	// Background lets the sandbox run while the rest of an uncompressed
	// image is still loading.
	Background bool
	// Direct reads the pages file with O_DIRECT.
	Direct bool
}

// Restore restores a created container (runsc create) from o.ImagePath
// and leaves it running: it takes the place of Start.
func (r *Runsc) Restore(ctx context.Context, id string, o RestoreOptions) error {
	if !filepath.IsAbs(o.ImagePath) {
		return invalid("restore image path %q is not absolute", o.ImagePath)
	}
	args := []string{"--image-path=" + o.ImagePath, "--detach"}
	if o.Background {
		args = append(args, "--background")
	}
	if o.Direct {
		args = append(args, "--direct")
	}
	_, err := r.run(ctx, invocation{verb: "restore", id: id, args: append(args, id)})
	return err
}
