package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"nucleus.dev/nucleus/daemon/auth"
	"nucleus.dev/nucleus/internal/errdefs"
)

// publicMethods need no authenticated caller: health probes.
func isPublic(method string) bool {
	return strings.HasPrefix(method, "/grpc.health.v1.Health/")
}

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

type requestIDKey struct{}

// RequestID returns the id the interceptor gave the call, for log fields.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// interceptors holds what the unary and stream interceptors share.
type interceptors struct {
	log    *zap.Logger
	policy auth.Policy
	// observe is called after every call with its method and code (metrics).
	observe func(method string, code codes.Code, d time.Duration)
	// streams bounds each caller's concurrent streaming calls.
	streams *limiter
	// ready is closed once recovery has finished (nil: ready).
	ready <-chan struct{}
}

// begin authenticates the caller and decorates ctx; it returns the logger
// for the call.
func (ic *interceptors) begin(ctx context.Context, method string) (context.Context, *zap.Logger, error) {
	rid := newRequestID()
	ctx = context.WithValue(ctx, requestIDKey{}, rid)
	log := ic.log.With(zap.String("request_id", rid), zap.String("method", method))
	if isPublic(method) {
		return ctx, log, nil
	}
	id, err := ic.policy.Authenticate(ctx)
	if err != nil {
		log.Warn("call refused", zap.Error(err))
		return ctx, log, errdefs.ToGRPC(err)
	}
	log = log.With(zap.String("caller", id.String()))
	if err := awaitRecovery(ctx, ic.ready, method); err != nil {
		return ctx, log, err
	}
	return auth.WithIdentity(ctx, id), log, nil
}

// readOnly methods are logged at debug level; every other call is an
// audit record at info level.
func readOnly(method string) bool {
	switch method[strings.LastIndex(method, "/")+1:] {
	case "Get", "List", "Logs", "Stats", "Events", "Version", "Info", "Wait":
		return true
	}
	return isPublic(method) || strings.HasPrefix(method, "/grpc.reflection.")
}

func (ic *interceptors) end(log *zap.Logger, method string, start time.Time, err error) error {
	err = errdefs.ToGRPC(err)
	code := status.Code(err)
	d := time.Since(start)
	if ic.observe != nil {
		ic.observe(method, code, d)
	}
	fields := []zap.Field{zap.String("code", code.String()), zap.Duration("duration", d)}
	switch {
	case isPublic(method):
	case (code == codes.OK || code == codes.Canceled) && readOnly(method):
		log.Debug("call", fields...)
	case code == codes.OK || code == codes.Canceled:
		log.Info("call", fields...)
	case code == codes.Internal || code == codes.Unknown:
		log.Error("call failed", append(fields, zap.Error(err))...)
	default:
		log.Info("call refused", append(fields, zap.Error(err))...)
	}
	return err
}

// recovered turns a panic in a handler into an Internal error and a log
// entry with the stack; the daemon keeps serving.
func recovered(log *zap.Logger, r any) error {
	log.Error("panic in handler", zap.Any("panic", r), zap.ByteString("stack", debug.Stack()))
	return status.Error(codes.Internal, fmt.Sprintf("internal error (panic: %v); the daemon logged the details", r))
}

func (ic *interceptors) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	start := time.Now()
	ctx, log, err := ic.begin(ctx, info.FullMethod)
	if err != nil {
		return nil, ic.end(log, info.FullMethod, start, err)
	}
	if r, ok := req.(interface{ GetId() string }); ok && r.GetId() != "" {
		log = log.With(zap.String("container", r.GetId()))
	}
	defer func() {
		if r := recover(); r != nil {
			err = recovered(log, r)
		}
		err = ic.end(log, info.FullMethod, start, err)
	}()
	return handler(ctx, req)
}

type wrappedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (w *wrappedStream) Context() context.Context { return w.ctx }

func (ic *interceptors) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
	start := time.Now()
	ctx, log, err := ic.begin(ss.Context(), info.FullMethod)
	if err != nil {
		return ic.end(log, info.FullMethod, start, err)
	}
	if id, ok := auth.FromContext(ctx); ok && ic.streams != nil && strings.HasPrefix(info.FullMethod, "/nucleus.v1.") {
		release, err := ic.streams.acquire(id.Principal(), id.Admin && id.CertSubject == "")
		if err != nil {
			return ic.end(log, info.FullMethod, start, err)
		}
		defer release()
	}
	defer func() {
		if r := recover(); r != nil {
			err = recovered(log, r)
		}
		err = ic.end(log, info.FullMethod, start, err)
	}()
	return handler(srv, &wrappedStream{ServerStream: ss, ctx: ctx})
}
