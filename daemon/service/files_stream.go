package service

import (
	"bufio"

	"google.golang.org/grpc"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/fsapi"
	"nucleus.dev/nucleus/fsapi/wire"
)

// sendBuffer batches the helper's output into messages of this size.
const sendBuffer = 256 << 10

// WriteFile implements nucleusv1.FilesServiceServer.
func (s *Files) WriteFile(stream grpc.ClientStreamingServer[nucleusv1.WriteFileRequest, nucleusv1.WriteFileResponse]) error {
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	h := first.GetHeader()
	if h == nil {
		return errNoHeader
	}
	run, done, err := s.open(stream.Context(), "write", h.GetContainer(), h.GetPath())
	if err != nil {
		return err
	}
	r := &dataReader{recv: func() ([]byte, bool, error) {
		m, err := stream.Recv()
		if err != nil {
			return nil, false, err
		}
		_, isData := m.GetMsg().(*nucleusv1.WriteFileRequest_Data)
		return m.GetData(), isData, nil
	}}
	o := fsapi.WriteOptions{Mode: h.GetMode(), UID: h.GetUid(), GID: h.GetGid(), SetOwner: h.GetSetOwner()}
	info, err := s.files.Write(stream.Context(), run, h.GetPath(), o, r)
	done(err)
	if err != nil {
		return err
	}
	return stream.SendAndClose(&nucleusv1.WriteFileResponse{Info: fileInfo(info)})
}

// ReadFile implements nucleusv1.FilesServiceServer.
func (s *Files) ReadFile(req *nucleusv1.ReadFileRequest, stream grpc.ServerStreamingServer[nucleusv1.ReadFileResponse]) error {
	run, done, err := s.open(stream.Context(), "read", req.GetContainer(), req.GetPath())
	if err != nil {
		return err
	}
	onInfo := func(i *wire.Info) error {
		return stream.Send(&nucleusv1.ReadFileResponse{Msg: &nucleusv1.ReadFileResponse_Info{Info: fileInfo(i)}})
	}
	w := bufio.NewWriterSize(chunkWriter(func(p []byte) error {
		return stream.Send(&nucleusv1.ReadFileResponse{Msg: &nucleusv1.ReadFileResponse_Data{Data: p}})
	}), sendBuffer)
	err = s.files.Read(stream.Context(), run, req.GetPath(), onInfo, w)
	if err == nil {
		err = w.Flush()
	}
	done(err)
	return err
}

// CopyTo implements nucleusv1.FilesServiceServer.
func (s *Files) CopyTo(stream grpc.ClientStreamingServer[nucleusv1.CopyToRequest, nucleusv1.CopyToResponse]) error {
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	h := first.GetHeader()
	if h == nil {
		return errNoHeader
	}
	run, done, err := s.open(stream.Context(), "copy-to", h.GetContainer(), h.GetPath())
	if err != nil {
		return err
	}
	r := &dataReader{recv: func() ([]byte, bool, error) {
		m, err := stream.Recv()
		if err != nil {
			return nil, false, err
		}
		_, isData := m.GetMsg().(*nucleusv1.CopyToRequest_Data)
		return m.GetData(), isData, nil
	}}
	x, err := s.files.TarIn(stream.Context(), run, h.GetPath(), r)
	done(err)
	if err != nil {
		return err
	}
	return stream.SendAndClose(&nucleusv1.CopyToResponse{Entries: x.Entries, Bytes: x.Bytes})
}

// CopyFrom implements nucleusv1.FilesServiceServer.
func (s *Files) CopyFrom(req *nucleusv1.CopyFromRequest, stream grpc.ServerStreamingServer[nucleusv1.CopyFromResponse]) error {
	run, done, err := s.open(stream.Context(), "copy-from", req.GetContainer(), req.GetPath())
	if err != nil {
		return err
	}
	onInfo := func(i *wire.Info) error {
		return stream.Send(&nucleusv1.CopyFromResponse{Msg: &nucleusv1.CopyFromResponse_Info{Info: fileInfo(i)}})
	}
	w := bufio.NewWriterSize(chunkWriter(func(p []byte) error {
		return stream.Send(&nucleusv1.CopyFromResponse{Msg: &nucleusv1.CopyFromResponse_Data{Data: p}})
	}), sendBuffer)
	err = s.files.TarOut(stream.Context(), run, req.GetPath(), onInfo, w)
	if err == nil {
		err = w.Flush()
	}
	done(err)
	return err
}
