package containerdshim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	taskapi "github.com/containerd/containerd/api/runtime/task/v2"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/client"
	"nucleus.dev/nucleus/internal/errdefs"
)

// deleteGrace is how long the delete action lets a running task finish on
// its own before killing it: containerd gives the whole action 5 seconds
// (io.containerd.timeout.shim.cleanup).
const deleteGrace = 3 * time.Second

// deleteAction is containerd's cleanup after a dead shim (or a failed
// start): the task's container is finished, its real exit status printed
// as a DeleteResponse, and its nucleusd record and rootfs mount removed. A
// task still running after deleteGrace is killed: with its shim gone
// containerd forgets the task, so leaving it running would leak it.
func deleteAction(ctx context.Context, f *flags, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 4500*time.Millisecond)
	defer cancel()
	c, err := dialNucleusd(ctx, f.nucleusd)
	if err != nil {
		return err
	}
	defer c.Close()
	name := ContainerName(f.namespace, f.id)
	resp := &taskapi.DeleteResponse{ExitStatus: 128 + 9, ExitedAt: timestamppb.Now()}
	ctr, err := c.Get(ctx, name)
	switch {
	case errors.Is(err, errdefs.ErrNotFound):
	case err != nil:
		return fmt.Errorf("find the container of task %s: %w", f.id, err)
	case ctr.GetSpec().GetLabels()[LabelID] != f.id || ctr.GetSpec().GetLabels()[LabelNamespace] != f.namespace:
		return fmt.Errorf("container %s is not task %s/%s's", name, f.namespace, f.id)
	default:
		resp.Pid = uint32(ctr.GetPid())
		st := finish(ctx, c, ctr)
		if st != nil {
			resp.ExitStatus = exitCode(st.GetExit())
			if st.GetFinishedAt() != nil {
				resp.ExitedAt = st.GetFinishedAt()
			}
		}
		if _, err := c.Delete(ctx, ctr.GetId(), true); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
			return fmt.Errorf("delete the container of task %s: %w", f.id, err)
		}
	}
	unmountRootfs(filepath.Join(f.bundle, "rootfs"))
	_ = os.Remove(socketPath(f))
	out, err := proto.Marshal(resp)
	if err != nil {
		return err
	}
	_, err = stdout.Write(out)
	return err
}

// finish waits up to deleteGrace for ctr to exit, kills it after, and
// returns its final record (nil if it could not be had).
func finish(ctx context.Context, c *client.Client, ctr *nucleusv1.Container) *nucleusv1.Container {
	exited := func(x *nucleusv1.Container) bool {
		return x.GetState() == nucleusv1.ContainerState_CONTAINER_STATE_EXITED
	}
	if ctr.GetState() == nucleusv1.ContainerState_CONTAINER_STATE_CREATED {
		return nil
	}
	if !exited(ctr) {
		wctx, cancel := context.WithTimeout(ctx, deleteGrace)
		_, err := c.Wait(wctx, ctr.GetId())
		cancel()
		if err != nil {
			_ = c.Kill(ctx, ctr.GetId(), 9)
			if _, err := c.Wait(ctx, ctr.GetId()); err != nil {
				return nil
			}
		}
	}
	final, err := c.Get(ctx, ctr.GetId())
	if err != nil || !exited(final) {
		return nil
	}
	return final
}
