package client

import (
	"context"
	"errors"
	"io"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
)

// Images returns the raw ImagesService client on the same connection.
func (c *Client) Images() nucleusv1.ImagesServiceClient {
	return nucleusv1.NewImagesServiceClient(c.conn)
}

// PullImage pulls ref; progress (may be nil) sees each layer's progress
// as it arrives. It returns the pulled image.
func (c *Client) PullImage(ctx context.Context, ref string, progress func(*nucleusv1.PullProgress)) (*nucleusv1.Image, error) {
	stream, err := c.Images().PullImage(ctx, &nucleusv1.PullImageRequest{Reference: ref})
	if err != nil {
		return nil, c.fromGRPC(err)
	}
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil, errors.New("pull: the stream ended without the image")
		}
		if err != nil {
			return nil, c.fromGRPC(err)
		}
		if img := resp.GetImage(); img != nil {
			return img, nil
		}
		if p := resp.GetProgress(); p != nil && progress != nil {
			progress(p)
		}
	}
}

// importChunk is the size of one ImportImage message.
const importChunk = 1 << 20

// ImportImage streams an OCI layout or docker-save tar from r; ref names
// an image the archive gives no name (may be empty).
func (c *Client) ImportImage(ctx context.Context, r io.Reader, ref string) ([]*nucleusv1.Image, error) {
	stream, err := c.Images().ImportImage(ctx)
	if err != nil {
		return nil, c.fromGRPC(err)
	}
	if ref != "" {
		opt := &nucleusv1.ImportImageRequest{Kind: &nucleusv1.ImportImageRequest_Options{Options: &nucleusv1.ImportOptions{Reference: ref}}}
		if err := stream.Send(opt); err != nil {
			_, rerr := stream.CloseAndRecv()
			return nil, c.fromGRPC(rerr)
		}
	}
	buf := make([]byte, importChunk)
	for {
		n, rerr := r.Read(buf)
		if n > 0 {
			chunk := &nucleusv1.ImportImageRequest{Kind: &nucleusv1.ImportImageRequest_Chunk{Chunk: append([]byte(nil), buf[:n]...)}}
			if err := stream.Send(chunk); err != nil {
				break // the server ended the call: CloseAndRecv has its status
			}
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			return nil, rerr
		}
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return nil, c.fromGRPC(err)
	}
	return resp.GetImages(), nil
}

// ListImages returns every image.
func (c *Client) ListImages(ctx context.Context) ([]*nucleusv1.Image, error) {
	resp, err := c.Images().ListImages(ctx, &nucleusv1.ListImagesRequest{})
	if err != nil {
		return nil, c.fromGRPC(err)
	}
	return resp.GetImages(), nil
}

// GetImage returns one image by reference, digest or digest prefix.
func (c *Client) GetImage(ctx context.Context, ref string) (*nucleusv1.Image, error) {
	resp, err := c.Images().GetImage(ctx, &nucleusv1.GetImageRequest{Reference: ref})
	if err != nil {
		return nil, c.fromGRPC(err)
	}
	return resp.GetImage(), nil
}

// RemoveImage removes a reference or an image.
func (c *Client) RemoveImage(ctx context.Context, ref string, force bool) (*nucleusv1.RemoveImageResponse, error) {
	resp, err := c.Images().RemoveImage(ctx, &nucleusv1.RemoveImageRequest{Reference: ref, Force: force})
	if err != nil {
		return nil, c.fromGRPC(err)
	}
	return resp, nil
}

// PruneImages removes unused images.
func (c *Client) PruneImages(ctx context.Context) (*nucleusv1.PruneImagesResponse, error) {
	resp, err := c.Images().PruneImages(ctx, &nucleusv1.PruneImagesRequest{})
	if err != nil {
		return nil, c.fromGRPC(err)
	}
	return resp, nil
}
