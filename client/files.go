package client

import (
	"context"
	"errors"
	"fmt"
	"io"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
)

// fileChunk is the data carried by one message of an upload.
const fileChunk = 256 << 10

// FileOptions are the mode and owner of a file WriteFile creates.
type FileOptions struct {
	Mode     uint32 // permission bits; 0 means 0644
	UID, GID uint32 // the owner, with SetOwner; else root
	SetOwner bool
}

func (c *Client) files() nucleusv1.FilesServiceClient { return nucleusv1.NewFilesServiceClient(c.conn) }

// upload sends header, then r's data in chunks, and returns the answer.
// An error from r cancels the call, so the daemon keeps nothing of it.
func upload[Req any, Resp any](ctx context.Context, c *Client, open func(context.Context) (interface {
	Send(*Req) error
	CloseAndRecv() (*Resp, error)
}, error), header *Req, data func([]byte) *Req, r io.Reader) (*Resp, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := open(ctx)
	if err != nil {
		return nil, c.fromGRPC(err)
	}
	if err := stream.Send(header); err != nil {
		_, err = stream.CloseAndRecv()
		return nil, c.fromGRPC(err)
	}
	buf := make([]byte, fileChunk)
	for {
		n, rerr := r.Read(buf)
		if n > 0 {
			if err := stream.Send(data(append([]byte(nil), buf[:n]...))); err != nil {
				_, err = stream.CloseAndRecv() // the daemon's reason
				return nil, c.fromGRPC(err)
			}
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			cancel()
			return nil, fmt.Errorf("reading the upload: %w", rerr)
		}
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return nil, c.fromGRPC(err)
	}
	return resp, nil
}

// WriteFile creates or replaces path in container with r's data up to
// io.EOF. The file appears whole or not at all: an error from r cancels
// the write and leaves the old file.
func (c *Client) WriteFile(ctx context.Context, container, path string, r io.Reader, o FileOptions) (*nucleusv1.FileInfo, error) {
	open := func(ctx context.Context) (interface {
		Send(*nucleusv1.WriteFileRequest) error
		CloseAndRecv() (*nucleusv1.WriteFileResponse, error)
	}, error) {
		return c.files().WriteFile(ctx)
	}
	hdr := &nucleusv1.WriteFileRequest{Msg: &nucleusv1.WriteFileRequest_Header{Header: &nucleusv1.WriteFileHeader{
		Container: container, Path: path, Mode: o.Mode, Uid: o.UID, Gid: o.GID, SetOwner: o.SetOwner}}}
	resp, err := upload(ctx, c, open, hdr, func(p []byte) *nucleusv1.WriteFileRequest {
		return &nucleusv1.WriteFileRequest{Msg: &nucleusv1.WriteFileRequest_Data{Data: p}}
	}, r)
	if err != nil {
		return nil, err
	}
	return resp.GetInfo(), nil
}

// CopyTo extracts the tar r yields into the existing directory dir of
// container (the daemon side of `docker cp SRC CONTAINER:DST`).
func (c *Client) CopyTo(ctx context.Context, container, dir string, tar io.Reader) (*nucleusv1.CopyToResponse, error) {
	open := func(ctx context.Context) (interface {
		Send(*nucleusv1.CopyToRequest) error
		CloseAndRecv() (*nucleusv1.CopyToResponse, error)
	}, error) {
		return c.files().CopyTo(ctx)
	}
	hdr := &nucleusv1.CopyToRequest{Msg: &nucleusv1.CopyToRequest_Header{Header: &nucleusv1.CopyToHeader{Container: container, Path: dir}}}
	return upload(ctx, c, open, hdr, func(p []byte) *nucleusv1.CopyToRequest {
		return &nucleusv1.CopyToRequest{Msg: &nucleusv1.CopyToRequest_Data{Data: p}}
	}, tar)
}

// download receives an info message, then data written to w.
func download[Resp interface {
	GetInfo() *nucleusv1.FileInfo
	GetData() []byte
}](c *Client, recv func() (Resp, error), w io.Writer) (*nucleusv1.FileInfo, error) {
	var info *nucleusv1.FileInfo
	for {
		m, err := recv()
		if errors.Is(err, io.EOF) {
			if info == nil {
				return nil, protocolError("stream closed before the file's info")
			}
			return info, nil
		}
		if err != nil {
			return nil, c.fromGRPC(err)
		}
		if i := m.GetInfo(); i != nil {
			info = i
			continue
		}
		if _, err := w.Write(m.GetData()); err != nil {
			return nil, err
		}
	}
}

// ReadFile writes regular file path of container to w and returns its
// info.
func (c *Client) ReadFile(ctx context.Context, container, path string, w io.Writer) (*nucleusv1.FileInfo, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // a failed w ends the call
	stream, err := c.files().ReadFile(ctx, &nucleusv1.ReadFileRequest{Container: container, Path: path})
	if err != nil {
		return nil, c.fromGRPC(err)
	}
	return download(c, stream.Recv, w)
}

// CopyFrom writes a tar of path (a file or a tree, rooted at its base
// name; "dir/." for a directory's contents) to w and returns path's info.
func (c *Client) CopyFrom(ctx context.Context, container, path string, w io.Writer) (*nucleusv1.FileInfo, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.files().CopyFrom(ctx, &nucleusv1.CopyFromRequest{Container: container, Path: path})
	if err != nil {
		return nil, c.fromGRPC(err)
	}
	return download(c, stream.Recv, w)
}

// StatFile describes path in container (lstat).
func (c *Client) StatFile(ctx context.Context, container, path string) (*nucleusv1.FileInfo, error) {
	resp, err := c.files().Stat(ctx, &nucleusv1.StatRequest{Container: container, Path: path})
	if err != nil {
		return nil, c.fromGRPC(err)
	}
	return resp.GetInfo(), nil
}

// ListDir lists directory path in container, sorted by name.
func (c *Client) ListDir(ctx context.Context, container, path string) ([]*nucleusv1.FileInfo, error) {
	resp, err := c.files().ListDir(ctx, &nucleusv1.ListDirRequest{Container: container, Path: path})
	if err != nil {
		return nil, c.fromGRPC(err)
	}
	return resp.GetEntries(), nil
}

// MakeDir creates directory path in container (mode 0: 0755), with its
// parents when parents is set.
func (c *Client) MakeDir(ctx context.Context, container, path string, mode uint32, parents bool) error {
	_, err := c.files().MakeDir(ctx, &nucleusv1.MakeDirRequest{Container: container, Path: path, Mode: mode, Parents: parents})
	return c.fromGRPC(err)
}

// RemovePath removes path in container; a non-empty directory needs
// recursive.
func (c *Client) RemovePath(ctx context.Context, container, path string, recursive bool) error {
	_, err := c.files().Remove(ctx, &nucleusv1.RemoveRequest{Container: container, Path: path, Recursive: recursive})
	return c.fromGRPC(err)
}

// RenamePath renames from to to in container.
func (c *Client) RenamePath(ctx context.Context, container, from, to string) error {
	_, err := c.files().Rename(ctx, &nucleusv1.RenameRequest{Container: container, From: from, To: to})
	return c.fromGRPC(err)
}
