package client

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
)

// Create creates a container from spec; it ends in CREATED.
func (c *Client) Create(ctx context.Context, spec *nucleusv1.ContainerSpec) (*nucleusv1.Container, error) {
	resp, err := c.api.Create(ctx, &nucleusv1.CreateRequest{Spec: spec})
	if err != nil {
		return nil, c.fromGRPC(err)
	}
	return resp.GetContainer(), nil
}

// Start starts a created container, by id or name.
func (c *Client) Start(ctx context.Context, id string) (*nucleusv1.Container, error) {
	resp, err := c.api.Start(ctx, &nucleusv1.StartRequest{Id: id})
	if err != nil {
		return nil, c.fromGRPC(err)
	}
	return resp.GetContainer(), nil
}

// Get returns one container, by id or name.
func (c *Client) Get(ctx context.Context, id string) (*nucleusv1.Container, error) {
	resp, err := c.api.Get(ctx, &nucleusv1.GetRequest{Id: id})
	if err != nil {
		return nil, c.fromGRPC(err)
	}
	return resp.GetContainer(), nil
}

// List returns the caller's containers matching req (nil: all), oldest
// first, following the pages from req.PageToken (usually empty) to the
// last.
func (c *Client) List(ctx context.Context, req *nucleusv1.ListRequest) ([]*nucleusv1.Container, error) {
	if req == nil {
		req = &nucleusv1.ListRequest{}
	}
	req = proto.CloneOf(req)
	var out []*nucleusv1.Container
	for {
		resp, err := c.api.List(ctx, req)
		if err != nil {
			return nil, c.fromGRPC(err)
		}
		out = append(out, resp.GetContainers()...)
		next := resp.GetNextPageToken()
		if next == "" {
			return out, nil
		}
		if next == req.GetPageToken() || len(resp.GetContainers()) == 0 {
			return nil, fmt.Errorf("list: the daemon returned the same page again (token %q)", next)
		}
		req.PageToken = next
	}
}

// Kill sends signal (0: SIGKILL) to the container's init process.
func (c *Client) Kill(ctx context.Context, id string, signal uint32) error {
	_, err := c.api.Kill(ctx, &nucleusv1.KillRequest{Id: id, Signal: signal})
	return c.fromGRPC(err)
}

// Stop signals the container, waits out the grace period, then kills it;
// it returns the exited container.
func (c *Client) Stop(ctx context.Context, req *nucleusv1.StopRequest) (*nucleusv1.Container, error) {
	resp, err := c.api.Stop(ctx, req)
	if err != nil {
		return nil, c.fromGRPC(err)
	}
	return resp.GetContainer(), nil
}

// Delete removes a container; force kills a running or paused one first.
func (c *Client) Delete(ctx context.Context, id string, force bool) (*nucleusv1.Container, error) {
	resp, err := c.api.Delete(ctx, &nucleusv1.DeleteRequest{Id: id, Force: force})
	if err != nil {
		return nil, c.fromGRPC(err)
	}
	return resp.GetContainer(), nil
}

// Wait blocks until the container has exited and returns how it ended.
func (c *Client) Wait(ctx context.Context, id string) (*nucleusv1.WaitResponse, error) {
	resp, err := c.api.Wait(ctx, &nucleusv1.WaitRequest{Id: id})
	if err != nil {
		return nil, c.fromGRPC(err)
	}
	return resp, nil
}

// Pause freezes a running container.
func (c *Client) Pause(ctx context.Context, id string) (*nucleusv1.Container, error) {
	resp, err := c.api.Pause(ctx, &nucleusv1.PauseRequest{Id: id})
	if err != nil {
		return nil, c.fromGRPC(err)
	}
	return resp.GetContainer(), nil
}

// Resume thaws a paused container.
func (c *Client) Resume(ctx context.Context, id string) (*nucleusv1.Container, error) {
	resp, err := c.api.Resume(ctx, &nucleusv1.ResumeRequest{Id: id})
	if err != nil {
		return nil, c.fromGRPC(err)
	}
	return resp.GetContainer(), nil
}

// Update changes resource limits; zero fields of res stay unchanged.
func (c *Client) Update(ctx context.Context, id string, res *nucleusv1.Resources) (*nucleusv1.Container, error) {
	resp, err := c.api.Update(ctx, &nucleusv1.UpdateRequest{Id: id, Resources: res})
	if err != nil {
		return nil, c.fromGRPC(err)
	}
	return resp.GetContainer(), nil
}

// Version reports the daemon's versions.
func (c *Client) Version(ctx context.Context) (*nucleusv1.VersionResponse, error) {
	resp, err := c.api.Version(ctx, &nucleusv1.VersionRequest{})
	return resp, c.fromGRPC(err)
}

// Info reports the daemon's configuration summary and container counts.
func (c *Client) Info(ctx context.Context) (*nucleusv1.InfoResponse, error) {
	resp, err := c.api.Info(ctx, &nucleusv1.InfoRequest{})
	return resp, c.fromGRPC(err)
}
