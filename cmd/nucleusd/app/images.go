package app

import (
	"fmt"
	"path/filepath"

	"go.uber.org/zap"

	"nucleus.dev/nucleus/bundle"
	"nucleus.dev/nucleus/daemon/config"
	"nucleus.dev/nucleus/daemon/core"
	"nucleus.dev/nucleus/daemon/metrics"
	"nucleus.dev/nucleus/daemon/service"
	"nucleus.dev/nucleus/images"
)

// openImages opens the image store under <root>/images (removing what a
// crashed pull left), hands the core its ImageResolver and returns the
// Images service. mx may be nil.
func openImages(d *core.Daemon, cfg *config.Config, rootDir string, log *zap.Logger, mx *metrics.Metrics) (*service.Images, error) {
	ic := cfg.Images
	pol := images.Policy{
		MaxCompressedBytes: int64(ic.MaxCompressedSize), MaxUnpackedBytes: int64(ic.MaxUnpackedSize),
		MaxLayers: ic.MaxLayers, MaxFilesPerLayer: ic.MaxFilesPerLayer, PullTimeout: ic.PullTimeout.Std(),
		AllowedRegistries: ic.AllowedRegistries, Mirrors: ic.MirrorMap(), Insecure: ic.Insecure,
		AuthFile: ic.AuthFile, Parallel: ic.ParallelDownloads,
		// The file helper's mount point (see fsapi): an image tree is
		// shared and read-only, so it must already be there.
		MountPoints: []string{bundle.HelperMountPoint},
	}
	st, err := images.Open(filepath.Join(rootDir, "images"), d.Store().Images(), pol, log.Named("images"))
	if err != nil {
		return nil, fmt.Errorf("opening the image store: %w", err)
	}
	var im service.ImageMetrics
	if mx != nil {
		im = mx
		if err := mx.WatchImages(func() float64 { return float64(imageBytes(st)) }); err != nil {
			return nil, err
		}
	}
	svc, resolver := service.NewImages(st, d, im)
	d.UseImages(resolver)
	return svc, nil
}

// imageBytes is the store's size on disk as its records count it.
func imageBytes(st *images.Store) int64 {
	recs, err := st.List()
	if err != nil {
		return 0
	}
	var n int64
	for _, r := range recs {
		n += r.CompressedSize + r.UnpackedSize
	}
	return n
}
