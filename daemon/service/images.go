package service

import (
	"context"
	"errors"
	"io"
	"sort"
	"sync"
	"time"

	"google.golang.org/grpc"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/daemon/core"
	"nucleus.dev/nucleus/images"
	"nucleus.dev/nucleus/internal/errdefs"
)

// Images implements nucleusv1.ImagesServiceServer over an images.Store.
// Every caller may list, inspect and pull (the store applies the registry
// policy to non-root callers); removals are checked by the store against
// who pulled the image and which containers use it.
type Images struct {
	nucleusv1.UnimplementedImagesServiceServer
	ops *imageOps
}

var _ nucleusv1.ImagesServiceServer = (*Images)(nil)

// NewImages returns the Images service and the core's ImageResolver, both
// over st; metrics may be nil.
func NewImages(st *images.Store, d *core.Daemon, metrics ImageMetrics) (*Images, core.ImageResolver) {
	ops := &imageOps{store: st, d: d, metrics: metrics}
	return &Images{ops: ops}, ops
}

// progressInterval spaces a layer's "downloading" reports on the stream.
const progressInterval = 100 * time.Millisecond

// PullImage implements nucleusv1.ImagesServiceServer.
func (s *Images) PullImage(req *nucleusv1.PullImageRequest, stream grpc.ServerStreamingServer[nucleusv1.PullImageResponse]) error {
	id, err := caller(stream.Context())
	if err != nil {
		return err
	}
	var mu sync.Mutex
	last := map[string]time.Time{}
	progress := func(p images.Progress) {
		if p.Layer == "" {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		now := time.Now()
		if p.Phase == images.PhaseDownloading && p.Done < p.Total && now.Sub(last[p.Layer]) < progressInterval {
			return
		}
		last[p.Layer] = now
		// A client that stopped reading fails the send; the pull's context
		// ends with the stream.
		_ = stream.Send(&nucleusv1.PullImageResponse{Kind: &nucleusv1.PullImageResponse_Progress{Progress: &nucleusv1.PullProgress{
			LayerDigest: p.Layer, DoneBytes: p.Done, TotalBytes: p.Total, Status: string(p.Phase),
		}}})
	}
	rec, err := s.ops.pull(stream.Context(), id, req.GetReference(), progress)
	if err != nil {
		return err
	}
	use, err := s.ops.d.ImageUsage()
	if err != nil {
		return err
	}
	mu.Lock()
	defer mu.Unlock()
	return stream.Send(&nucleusv1.PullImageResponse{Kind: &nucleusv1.PullImageResponse_Image{Image: s.ops.imageToAPI(rec, use[rec.Digest].Containers)}})
}

// ImportImage implements nucleusv1.ImagesServiceServer.
func (s *Images) ImportImage(stream grpc.ClientStreamingServer[nucleusv1.ImportImageRequest, nucleusv1.ImportImageResponse]) error {
	id, err := caller(stream.Context())
	if err != nil {
		return err
	}
	first, err := stream.Recv()
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	ref := first.GetOptions().GetReference()
	pr, pw := io.Pipe()
	go func() {
		if c := first.GetChunk(); len(c) > 0 {
			if _, err := pw.Write(c); err != nil {
				return
			}
		}
		for first != nil {
			msg, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				pw.Close()
				return
			}
			if err != nil {
				pw.CloseWithError(err)
				return
			}
			if msg.GetOptions() != nil {
				pw.CloseWithError(errdefs.InvalidArgument("import options may come only in the first message"))
				return
			}
			if _, err := pw.Write(msg.GetChunk()); err != nil {
				return
			}
		}
		pw.Close()
	}()
	recs, err := s.ops.importArchive(stream.Context(), id, pr, ref)
	pr.CloseWithError(errors.New("import finished"))
	if err != nil {
		return err
	}
	resp := &nucleusv1.ImportImageResponse{}
	for _, r := range recs {
		resp.Images = append(resp.Images, s.ops.imageToAPI(r, 0))
	}
	return stream.SendAndClose(resp)
}

// ListImages implements nucleusv1.ImagesServiceServer.
func (s *Images) ListImages(ctx context.Context, _ *nucleusv1.ListImagesRequest) (*nucleusv1.ListImagesResponse, error) {
	if _, err := caller(ctx); err != nil {
		return nil, err
	}
	recs, err := s.ops.store.List()
	if err != nil {
		return nil, err
	}
	use, err := s.ops.d.ImageUsage()
	if err != nil {
		return nil, err
	}
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].Stored.After(recs[j].Stored) })
	resp := &nucleusv1.ListImagesResponse{}
	for _, r := range recs {
		resp.Images = append(resp.Images, s.ops.imageToAPI(r, use[r.Digest].Containers))
	}
	return resp, nil
}

// GetImage implements nucleusv1.ImagesServiceServer.
func (s *Images) GetImage(ctx context.Context, req *nucleusv1.GetImageRequest) (*nucleusv1.GetImageResponse, error) {
	if _, err := caller(ctx); err != nil {
		return nil, err
	}
	rec, err := s.ops.store.Get(req.GetReference())
	if err != nil {
		return nil, err
	}
	use, err := s.ops.d.ImageUsage()
	if err != nil {
		return nil, err
	}
	return &nucleusv1.GetImageResponse{Image: s.ops.imageToAPI(rec, use[rec.Digest].Containers)}, nil
}

// RemoveImage implements nucleusv1.ImagesServiceServer.
func (s *Images) RemoveImage(ctx context.Context, req *nucleusv1.RemoveImageRequest) (*nucleusv1.RemoveImageResponse, error) {
	id, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	unlock := s.ops.d.LockImages()
	defer unlock()
	usage, err := s.ops.usage()
	if err != nil {
		return nil, err
	}
	res, err := s.ops.store.Remove(req.GetReference(), images.RemoveOptions{Caller: imageCaller(id), Force: req.GetForce(), Usage: usage})
	if err != nil {
		return nil, err
	}
	resp := &nucleusv1.RemoveImageResponse{Untagged: res.Untagged}
	if res.Deleted != nil {
		resp.DeletedDigest = res.Deleted.Digest
		s.ops.d.PublishImageEvent(nucleusv1.EventType_EVENT_TYPE_IMAGE_REMOVED, uint32(id.UID), res.Deleted.Digest, firstOf(res.Untagged))
	}
	return resp, nil
}

// PruneImages implements nucleusv1.ImagesServiceServer.
func (s *Images) PruneImages(ctx context.Context, _ *nucleusv1.PruneImagesRequest) (*nucleusv1.PruneImagesResponse, error) {
	id, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	unlock := s.ops.d.LockImages()
	defer unlock()
	usage, err := s.ops.usage()
	if err != nil {
		return nil, err
	}
	recs, err := s.ops.store.Prune(imageCaller(id), usage)
	if err != nil {
		return nil, err
	}
	resp := &nucleusv1.PruneImagesResponse{}
	for _, r := range recs {
		resp.DeletedDigests = append(resp.DeletedDigests, r.Digest)
		resp.ReclaimedBytes += r.CompressedSize + r.UnpackedSize
		s.ops.d.PublishImageEvent(nucleusv1.EventType_EVENT_TYPE_IMAGE_REMOVED, uint32(id.UID), r.Digest, firstOf(r.References))
	}
	return resp, nil
}

func firstOf(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}
