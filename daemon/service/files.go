package service

import (
	"context"
	"errors"
	"io"
	"strings"
	"time"

	"go.uber.org/zap"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/daemon/config"
	"nucleus.dev/nucleus/daemon/core"
	"nucleus.dev/nucleus/fsapi"
	"nucleus.dev/nucleus/fsapi/wire"
	"nucleus.dev/nucleus/internal/errdefs"
)

// Files implements nucleusv1.FilesServiceServer over fsapi: the daemon resolves
// and authorizes the container, the helper in its sandbox does the rest.
type Files struct {
	nucleusv1.UnimplementedFilesServiceServer
	d     *core.Daemon
	files fsapi.Files
	log   *zap.Logger
}

var _ nucleusv1.FilesServiceServer = (*Files)(nil)

// NewFiles returns FilesService; it logs every call on log.
func NewFiles(d *core.Daemon, cfg *config.Config, log *zap.Logger) *Files {
	lim := fsapi.Limits{MaxBytes: int64(cfg.Limits.MaxFileBytes), MaxEntries: cfg.Limits.MaxDirEntries}
	return &Files{d: d, files: fsapi.Files{Limits: lim}, log: log}
}

// open checks the paths, finds the caller's running container and logs
// the call; done logs its outcome.
func (s *Files) open(ctx context.Context, op, container string, paths ...string) (fsapi.Exec, func(error), error) {
	id, err := caller(ctx)
	if err != nil {
		return nil, nil, err
	}
	for _, p := range paths {
		if err := fsapi.CheckPath("path", p); err != nil {
			return nil, nil, err
		}
	}
	cid, run, err := s.d.FileHelper(id, container)
	fields := []zap.Field{zap.String("op", op), zap.String("caller", id.Principal()), zap.String("container", container),
		zap.String("id", cid), zap.Strings("paths", paths)}
	if err != nil {
		s.log.Info("files call refused", append(fields, zap.Error(err))...)
		return nil, nil, err
	}
	start := time.Now()
	done := func(err error) {
		s.log.Info("files call", append(fields, zap.Duration("took", time.Since(start)), zap.Error(err))...)
	}
	return fsapi.Exec(run), done, nil
}

// Stat implements nucleusv1.FilesServiceServer.
func (s *Files) Stat(ctx context.Context, req *nucleusv1.StatRequest) (*nucleusv1.StatResponse, error) {
	run, done, err := s.open(ctx, "stat", req.GetContainer(), req.GetPath())
	if err != nil {
		return nil, err
	}
	info, err := s.files.Stat(ctx, run, req.GetPath())
	done(err)
	if err != nil {
		return nil, err
	}
	return &nucleusv1.StatResponse{Info: fileInfo(info)}, nil
}

// ListDir implements nucleusv1.FilesServiceServer.
func (s *Files) ListDir(ctx context.Context, req *nucleusv1.ListDirRequest) (*nucleusv1.ListDirResponse, error) {
	run, done, err := s.open(ctx, "ls", req.GetContainer(), req.GetPath())
	if err != nil {
		return nil, err
	}
	infos, err := s.files.List(ctx, run, req.GetPath())
	done(err)
	if err != nil {
		return nil, err
	}
	resp := &nucleusv1.ListDirResponse{Entries: make([]*nucleusv1.FileInfo, 0, len(infos))}
	for i := range infos {
		resp.Entries = append(resp.Entries, fileInfo(&infos[i]))
	}
	return resp, nil
}

// MakeDir implements nucleusv1.FilesServiceServer.
func (s *Files) MakeDir(ctx context.Context, req *nucleusv1.MakeDirRequest) (*nucleusv1.MakeDirResponse, error) {
	run, done, err := s.open(ctx, "mkdir", req.GetContainer(), req.GetPath())
	if err != nil {
		return nil, err
	}
	err = s.files.MakeDir(ctx, run, req.GetPath(), req.GetMode(), req.GetParents())
	done(err)
	return &nucleusv1.MakeDirResponse{}, err
}

// Remove implements nucleusv1.FilesServiceServer.
func (s *Files) Remove(ctx context.Context, req *nucleusv1.RemoveRequest) (*nucleusv1.RemoveResponse, error) {
	run, done, err := s.open(ctx, "rm", req.GetContainer(), req.GetPath())
	if err != nil {
		return nil, err
	}
	err = s.files.Remove(ctx, run, req.GetPath(), req.GetRecursive())
	done(err)
	return &nucleusv1.RemoveResponse{}, err
}

// Rename implements nucleusv1.FilesServiceServer.
func (s *Files) Rename(ctx context.Context, req *nucleusv1.RenameRequest) (*nucleusv1.RenameResponse, error) {
	run, done, err := s.open(ctx, "mv", req.GetContainer(), req.GetFrom(), req.GetTo())
	if err != nil {
		return nil, err
	}
	err = s.files.Rename(ctx, run, req.GetFrom(), req.GetTo())
	done(err)
	return &nucleusv1.RenameResponse{}, err
}

// fileInfo converts the helper's answer (data) to the API's form.
func fileInfo(i *wire.Info) *nucleusv1.FileInfo {
	return &nucleusv1.FileInfo{Name: strings.ToValidUTF8(string(i.Name), "\uFFFD"), RawName: i.Name, Mode: i.Mode,
		Size: i.Size, Uid: i.UID, Gid: i.GID, MtimeUnixNano: i.MtimeNano, LinkTarget: strings.ToValidUTF8(string(i.Link), "\uFFFD")}
}

// errNoHeader is a stream whose first message is not its header.
var errNoHeader = errdefs.InvalidArgument("the first message must be the header")

// dataReader reads the data messages of a client stream up to its end.
type dataReader struct {
	recv func() ([]byte, bool, error) // data, is data, error
	buf  []byte
}

func (r *dataReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		data, ok, err := r.recv()
		if errors.Is(err, io.EOF) {
			return 0, io.EOF
		}
		if err != nil {
			return 0, err
		}
		if !ok {
			return 0, errdefs.InvalidArgument("a header after the first message")
		}
		r.buf = data
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// chunkWriter sends what is written as data messages.
type chunkWriter func([]byte) error

func (w chunkWriter) Write(p []byte) (int, error) {
	if err := w(append([]byte(nil), p...)); err != nil {
		return 0, err
	}
	return len(p), nil
}
