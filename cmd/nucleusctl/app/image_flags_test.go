package app

import (
	"testing"

	"google.golang.org/protobuf/proto"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/client/clienttest"
)

func TestRunImageArgs(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want *nucleusv1.ContainerSpec
	}{
		{[]string{"busybox"}, &nucleusv1.ContainerSpec{Image: "busybox"}},
		{[]string{"busybox", "echo", "-n", "hi"}, &nucleusv1.ContainerSpec{Image: "busybox", Args: []string{"echo", "-n", "hi"}}},
		{[]string{"/bin/echo", "hi"}, &nucleusv1.ContainerSpec{Args: []string{"/bin/echo", "hi"}}},
		{[]string{"--entrypoint", "", "-u", "app", "--pull", "never", "--disk", "64m", "reg:5000/app:v1", "id"},
			&nucleusv1.ContainerSpec{Image: "reg:5000/app:v1", Args: []string{"id"}, ClearEntrypoint: true, ImageUser: "app",
				PullPolicy: nucleusv1.PullPolicy_PULL_POLICY_NEVER, Resources: &nucleusv1.Resources{DiskBytes: 64 << 20}}},
		{[]string{"--entrypoint", "/bin/sh", "--pull", "always", "app", "-c", "id"},
			&nucleusv1.ContainerSpec{Image: "app", Args: []string{"-c", "id"}, Entrypoint: []string{"/bin/sh"}, PullPolicy: nucleusv1.PullPolicy_PULL_POLICY_ALWAYS}},
	} {
		f := &clienttest.Fake{RunFunc: clienttest.RunScript{}.Serve}
		cli(t, f, append([]string{"run"}, tc.args...)...).wantCode(t, 0)
		tc.want.Network = "none"
		if tc.want.Resources == nil {
			tc.want.Resources = &nucleusv1.Resources{}
		}
		if s := runStarts(f); len(s) != 1 || !proto.Equal(s[0].GetSpec(), tc.want) {
			t.Errorf("run %q: spec %v, want %v", tc.args, s, tc.want)
		}
	}
	// Image flags without an image are refused before any call.
	for _, args := range [][]string{{"--pull", "never", "/bin/true"}, {"--disk", "1g", "/bin/true"}, {"--entrypoint", "", "/bin/true"}, {"--pull", "sometimes", "app"}} {
		f := &clienttest.Fake{RunFunc: clienttest.RunScript{}.Serve}
		cli(t, f, append([]string{"run"}, args...)...).wantCode(t, 125)
		if len(runStarts(f)) != 0 {
			t.Errorf("run %q reached nucleusd", args)
		}
	}
}
