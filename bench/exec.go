package main

import (
	"context"
	"fmt"
	"time"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/client"
)

var sleepArgs = []string{"/bin/sleep", "100000"}

// runSleeper starts a detached idle container through the daemon.
func (e *env) runSleeper(ctx context.Context) (string, time.Duration, error) {
	start := time.Now()
	c, err := e.c.RunDetached(ctx, &nucleusv1.ContainerSpec{Args: sleepArgs})
	d := time.Since(start)
	if err != nil {
		return "", d, fmt.Errorf("run detached: %w", err)
	}
	return c.GetId(), d, nil
}

// execFigure is figure 2: exec of /bin/true into a running sandbox.
func execFigure(ctx context.Context, e *env) ([]*Figure, error) {
	id, _, err := e.runSleeper(ctx)
	if err != nil {
		return nil, err
	}
	rawID, _, err := e.raw.startDetached(ctx, sleepArgs)
	if err != nil {
		return nil, err
	}
	defer e.raw.discard(rawID)
	vs := []variant{
		{"raw runsc exec", func(ctx context.Context) (time.Duration, error) { return e.raw.exec(ctx, rawID, "/bin/true") }},
		{"Go client Exec", func(ctx context.Context) (time.Duration, error) {
			start := time.Now()
			code, err := e.c.Exec(ctx, client.ExecOptions{ID: id, Args: trueArgs})
			d := time.Since(start)
			if err == nil && code != 0 {
				err = fmt.Errorf("exit %d", code)
			}
			return d, err
		}},
	}
	vs = append(vs, variant{"Go client Exec with a tty", func(ctx context.Context) (time.Duration, error) {
		start := time.Now()
		code, err := e.c.Exec(ctx, client.ExecOptions{ID: id, Args: trueArgs, TTY: true})
		d := time.Since(start)
		if err == nil && code != 0 {
			err = fmt.Errorf("exit %d", code)
		}
		return d, err
	}})
	if e.cfg.cliOK {
		vs = append(vs, variant{"nucleusctl exec", func(ctx context.Context) (time.Duration, error) {
			return e.cli(ctx, "exec", id, "--", "/bin/true")
		}})
	}
	samples, cpu, err := alternateCPU(ctx, e.cpu, e.cfg.execPairs, 2, e.cfg.settle, vs)
	f := &Figure{Key: "2 exec", Title: "Exec of /bin/true into a running sandbox"}
	f.addComparison(vs, samples, cpu, e.cpu != nil)
	if _, derr := e.c.Delete(ctx, id, true); derr != nil && err == nil {
		err = derr
	}
	return []*Figure{f}, err
}
