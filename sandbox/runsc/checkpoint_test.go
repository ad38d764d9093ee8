package runsc

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"nucleus.dev/nucleus/internal/errdefs"
)

func TestCheckpointRestoreArgv(t *testing.T) {
	f := newFake(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		call func() error
		want []string
	}{
		{"checkpoint", func() error {
			return f.r.Checkpoint(ctx, testID, CheckpointOptions{ImagePath: "/img"})
		}, []string{"checkpoint", "--image-path=/img", testID}},
		{"checkpoint all options", func() error {
			return f.r.Checkpoint(ctx, testID, CheckpointOptions{ImagePath: "/img", LeaveRunning: true, Compression: CompressionNone, ExcludeZeroPages: true, Direct: true})
		}, []string{"checkpoint", "--image-path=/img", "--leave-running", "--compression=none", "--exclude-committed-zero-pages", "--direct", testID}},
		{"restore", func() error {
			return f.r.Restore(ctx, testID, RestoreOptions{ImagePath: "/img"})
		}, []string{"restore", "--image-path=/img", "--detach", testID}},
		{"restore background direct", func() error {
			return f.r.Restore(ctx, testID, RestoreOptions{ImagePath: "/img", Background: true, Direct: true})
		}, []string{"restore", "--image-path=/img", "--detach", "--background", "--direct", testID}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); err != nil {
				t.Fatal(err)
			}
			calls := f.calls()
			want := append(append([]string{}, defaultGlobal...), tc.want...)
			if got := calls[len(calls)-1]; !reflect.DeepEqual(got, want) {
				t.Fatalf("argv:\n got %q\nwant %q", got, want)
			}
		})
	}
	for name, err := range map[string]error{
		"relative checkpoint path": f.r.Checkpoint(ctx, testID, CheckpointOptions{ImagePath: "img"}),
		"unknown compression":      f.r.Checkpoint(ctx, testID, CheckpointOptions{ImagePath: "/img", Compression: "zstd"}),
		"relative restore path":    f.r.Restore(ctx, testID, RestoreOptions{ImagePath: "img"}),
	} {
		if !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("%s: %v, want InvalidArgument", name, err)
		}
	}
}
