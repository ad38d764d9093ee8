package main

import (
	"context"
	"time"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
)

// podsFigure times a run-to-exit of /bin/true as one more container in a
// running sandbox (a pod's member): nucleusd's Run with spec.pod against
// `runsc run` of a bundle carrying runsc's grouping annotations into a raw
// sandbox, in the same run.
func podsFigure(ctx context.Context, e *env) ([]*Figure, error) {
	pod, _, err := e.runSleeper(ctx)
	if err != nil {
		return nil, err
	}
	rawPod, _, err := e.raw.startDetached(ctx, sleepArgs)
	if err != nil {
		return nil, err
	}
	defer e.raw.discard(rawPod)
	vs := []variant{
		{"raw runsc run (into a sandbox)", func(ctx context.Context) (time.Duration, error) { return e.raw.runMember(ctx, rawPod, trueArgs) }},
		{"Go client Run (pod, auto_remove)", func(ctx context.Context) (time.Duration, error) { return e.memberRun(ctx, pod) }},
	}
	if e.cfg.cliOK {
		vs = append(vs, variant{"nucleusctl run --rm --pod", func(ctx context.Context) (time.Duration, error) {
			return e.cli(ctx, "run", "--rm", "--pod", pod, "/bin/true")
		}})
	}
	samples, cpu, err := alternateCPU(ctx, e.cpu, e.cfg.pairs, 2, e.cfg.settle, vs)
	f := &Figure{Key: "pods", Title: "Run-to-exit of /bin/true in a running sandbox (a pod's member: create, start, wait, remove)"}
	f.addComparison(vs, samples, cpu, e.cpu != nil)
	f.Notes = append(f.Notes, "raw: `runsc run` of a bundle written by bundle.Create with nucleusd's request and policy plus runsc's CRI annotations naming a raw sandbox running sleep; nucleusd: spec.pod naming a running container")
	if _, derr := e.c.Delete(ctx, pod, true); derr != nil && err == nil {
		err = derr
	}
	return []*Figure{f}, err
}

// memberRun is clientRun of /bin/true in pod's sandbox.
func (e *env) memberRun(ctx context.Context, pod string) (time.Duration, error) {
	return e.clientRunSpec(ctx, &nucleusv1.ContainerSpec{Args: trueArgs, AutoRemove: true, Pod: pod})
}

// runMember times `runsc run` of args as one more container in the raw
// sandbox pod (create, start, wait, delete), the bundle write untimed.
func (r *raw) runMember(ctx context.Context, pod string, args []string) (time.Duration, error) {
	req := daemonRequest(args)
	req.Pod = pod
	return r.runRequest(ctx, req)
}
