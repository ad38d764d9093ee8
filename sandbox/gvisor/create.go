package gvisor

import (
	"context"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"gvisor.dev/gvisor/runsc/config"
	"gvisor.dev/gvisor/runsc/container"
	"gvisor.dev/gvisor/runsc/specutils"

	"nucleus.dev/nucleus/internal/errdefs"
	"nucleus.dev/nucleus/sandbox/runsc"
)

// Create creates container id from o.Bundle as `runsc create` does, and
// starts it too when o.Start (`runsc run --detach`), without a runsc
// process: the sandbox and gofer processes (the runsc binary) are started
// from here and become the caller's children. o.PidFile receives the
// sandbox's pid.
//
// It is meant for a process that serves this one sandbox, the supervisor:
// gVisor hands the sandbox the process's own standard streams, so for the
// duration of the call os.Stdin, os.Stdout and os.Stderr are o's (nil:
// /dev/null), and runsc joins the container's cgroups for a moment to start
// the gofer in them. Cancelling ctx makes Create return; the creation
// itself is not interrupted (the caller then deletes whatever was made).
func (c *Client) Create(ctx context.Context, id string, o runsc.CreateOptions) error {
	if o.Bundle == "" {
		return errdefs.InvalidArgument("create %s: bundle not set", id)
	}
	conf, err := parseConfig(c.flags)
	if err != nil {
		return err
	}
	spec, err := specutils.ReadSpec(o.Bundle, conf)
	if err != nil {
		return fmt.Errorf("create %s: reading spec: %w", id, err)
	}
	if err := specutils.FixConfig(conf, spec); err != nil {
		return fmt.Errorf("create %s: applying the spec's annotations: %w", id, err)
	}
	return untilDone(ctx, "create "+id, func() error {
		return c.withStdio(o, func() error {
			cont, err := container.New(conf, container.Args{ID: id, Spec: spec, BundleDir: o.Bundle, PIDFile: o.PidFile, ConsoleSocket: o.ConsoleSocket})
			if err != nil {
				return fmt.Errorf("creating container %s: %w", id, err)
			}
			if !o.Start {
				return nil
			}
			if err := cont.Start(conf); err != nil {
				_ = cont.Destroy()
				return fmt.Errorf("starting container %s: %w", id, err)
			}
			return nil
		})
	})
}

// Start starts created container id, like `runsc start`.
func (c *Client) Start(ctx context.Context, id string) error {
	cont, conf, err := c.loadConfigured(id, "start")
	if err != nil {
		return err
	}
	return untilDone(ctx, "start "+id, func() error {
		if err := cont.Start(conf); err != nil {
			return fmt.Errorf("starting container %s: %w", id, err)
		}
		return nil
	})
}

// StartWithStdio starts created container id like Start, with o's stdio
// (o.Stdin, o.Stdout, o.Stderr only; nil: /dev/null): a container created
// in another's sandbox receives its stdio when it starts (gVisor passes
// the calling process's), not at create.
func (c *Client) StartWithStdio(ctx context.Context, id string, o runsc.CreateOptions) error {
	cont, conf, err := c.loadConfigured(id, "start")
	if err != nil {
		return err
	}
	return untilDone(ctx, "start "+id, func() error {
		return c.withStdio(o, func() error {
			if err := cont.Start(conf); err != nil {
				return fmt.Errorf("starting container %s: %w", id, err)
			}
			return nil
		})
	})
}

// WaitStatus waits, like `runsc wait`, until container id's process has
// exited and returns its wait status, which the sandbox keeps until the
// container is deleted (so a second wait returns it again). An error means
// the sandbox could not tell: it is gone, or ctx ended.
func (c *Client) WaitStatus(ctx context.Context, id string) (unix.WaitStatus, error) {
	cont, err := c.load(id)
	if err != nil {
		return 0, err
	}
	var ws unix.WaitStatus
	err = untilDone(ctx, "wait "+id, func() error {
		var werr error
		ws, werr = cont.Wait()
		return werr
	})
	return ws, err
}

// Restore restores created container id from o.ImagePath and leaves it
// running, like `runsc restore --detach`: it takes the place of Start,
// without a runsc process.
func (c *Client) Restore(ctx context.Context, id string, o runsc.RestoreOptions) error {
	cont, conf, err := c.loadConfigured(id, "restore")
	if err != nil {
		return err
	}
	return untilDone(ctx, "restore "+id, func() error {
		if err := cont.Restore(conf, o.ImagePath, o.Direct, o.Background, nil); err != nil {
			return fmt.Errorf("restoring container %s: %w", id, err)
		}
		return nil
	})
}

// loadConfigured loads container id with the runsc configuration its
// spec's annotations give it, for verb (start, restore, checkpoint).
func (c *Client) loadConfigured(id, verb string) (*container.Container, *config.Config, error) {
	cont, err := c.load(id)
	if err != nil {
		return nil, nil, err
	}
	conf, err := parseConfig(c.flags)
	if err != nil {
		return nil, nil, err
	}
	if err := specutils.FixConfig(conf, cont.Spec); err != nil {
		return nil, nil, fmt.Errorf("%s %s: applying the spec's annotations: %w", verb, id, err)
	}
	return cont, conf, nil
}

// untilDone runs fn, gVisor's work, in its own goroutine and returns its
// error, or ctx's once ctx ends first (fn is not interrupted: it cannot
// be). gVisor asserts its invariants with panics; one is fn's failure,
// reported like any other, not the caller's crash.
func untilDone(ctx context.Context, what string, fn func() error) error {
	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("%s: gVisor panicked: %v", what, r)
			}
		}()
		done <- fn()
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("%s: %w", what, ctx.Err())
	}
}

// withStdio runs fn with os.Stdin, os.Stdout and os.Stderr set to o's
// streams (nil: /dev/null), which gVisor passes to the sandbox.
func (c *Client) withStdio(o runsc.CreateOptions, fn func() error) error {
	c.stdioMu.Lock()
	defer c.stdioMu.Unlock()
	devNull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer devNull.Close()
	pick := func(f *os.File) *os.File {
		if f == nil {
			return devNull
		}
		return f
	}
	in, out, errw := os.Stdin, os.Stdout, os.Stderr
	os.Stdin, os.Stdout, os.Stderr = pick(o.Stdin), pick(o.Stdout), pick(o.Stderr)
	defer func() { os.Stdin, os.Stdout, os.Stderr = in, out, errw }()
	return fn()
}
