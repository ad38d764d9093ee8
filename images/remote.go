package images

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"nucleus.dev/nucleus/internal/errdefs"
)

// remoteErr gives a registry error its errdefs kind.
func remoteErr(err error) error {
	var terr *transport.Error
	if errors.As(err, &terr) {
		switch terr.StatusCode {
		case http.StatusNotFound:
			return fmt.Errorf("%v: %w", err, errdefs.ErrNotFound)
		case http.StatusUnauthorized, http.StatusForbidden:
			return fmt.Errorf("%v: %w", err, errdefs.ErrPermissionDenied)
		case http.StatusTooManyRequests:
			return fmt.Errorf("%v: %w", err, errdefs.ErrResourceExhausted)
		}
		return fmt.Errorf("%v: %w", err, errdefs.ErrUnavailable)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return ctxErr(err)
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	return fmt.Errorf("%v: %w", err, errdefs.ErrUnavailable)
}

// httpsOnly refuses plain http to any host the operator did not list as
// insecure: go-containerregistry would otherwise fall back to http for
// loopback and private (RFC 1918) addresses on its own.
type httpsOnly struct {
	inner http.RoundTripper
	s     *Store
}

func (h httpsOnly) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "https" && !h.s.insecure(req.URL.Host) {
		return nil, fmt.Errorf("registry %s: plain http is allowed only for registries in [images] insecure: %w", req.URL.Host, errdefs.ErrPermissionDenied)
	}
	return h.inner.RoundTrip(req)
}
