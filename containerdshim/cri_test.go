package containerdshim

import (
	"context"
	"errors"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/internal/errdefs"
)

func criSpec(kind, netns string) *specs.Spec {
	return &specs.Spec{
		Annotations: map[string]string{criContainerTypeKey: kind, criSandboxIDKey: "sb1"},
		Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{
			{Type: specs.PIDNamespace, Path: "/proc/42/ns/pid"}, {Type: specs.IPCNamespace, Path: "/proc/42/ns/ipc"},
			{Type: specs.UTSNamespace, Path: "/proc/42/ns/uts"}, {Type: specs.MountNamespace},
			{Type: specs.NetworkNamespace, Path: netns},
		}},
	}
}

// TestJoinNetnsPod: the pause container records the pod's namespace and
// joins nothing; the pod's container joins the recorded path (not the
// pause task's /proc/<pid>/ns/net); outside CRI the spec's path is joined.
func TestJoinNetnsPod(t *testing.T) {
	ctx := context.Background()
	pause := &nucleusv1.ContainerSpec{}
	if err := JoinNetns(ctx, pause, criSpec(criSandbox, "/var/run/netns/cni-1"), "k8s.io", nil); err != nil {
		t.Fatal(err)
	}
	if pause.GetNetworkNamespace() != "" || pause.GetLabels()[LabelPodNetns] != "/var/run/netns/cni-1" {
		t.Fatalf("pause: network_namespace %q labels %v; want none joined and the path recorded", pause.GetNetworkNamespace(), pause.GetLabels())
	}
	var asked string
	get := func(_ context.Context, name string) (*nucleusv1.Container, error) {
		asked = name
		return &nucleusv1.Container{Spec: pause}, nil
	}
	app := &nucleusv1.ContainerSpec{}
	if err := JoinNetns(ctx, app, criSpec(criContainer, "/proc/42/ns/net"), "k8s.io", get); err != nil {
		t.Fatal(err)
	}
	if app.GetNetworkNamespace() != "/var/run/netns/cni-1" || asked != ContainerName("k8s.io", "sb1") {
		t.Fatalf("app joins %q (asked for %q), want the pod's namespace from the pause container", app.GetNetworkNamespace(), asked)
	}
	noLabel := func(context.Context, string) (*nucleusv1.Container, error) { return &nucleusv1.Container{}, nil }
	if err := JoinNetns(ctx, &nucleusv1.ContainerSpec{}, criSpec(criContainer, "/proc/42/ns/net"), "k8s.io", noLabel); !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Fatalf("pause without the label: %v, want FailedPrecondition", err)
	}
	plain := &nucleusv1.ContainerSpec{}
	if err := JoinNetns(ctx, plain, &specs.Spec{Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: specs.NetworkNamespace, Path: "/run/netns/x"}}}}, "default", nil); err != nil || plain.GetNetworkNamespace() != "/run/netns/x" {
		t.Fatalf("non-CRI task: %q, %v", plain.GetNetworkNamespace(), err)
	}
}

// TestPodNamespaces: a CRI pod container's joins of the pod's IPC, UTS and
// PID namespaces pass the refusal (it gets its own sandbox); the same
// joins outside CRI are still refused.
func TestPodNamespaces(t *testing.T) {
	if err := refuseLinux(podNamespaces(criSpec(criContainer, "/proc/42/ns/net"))); err != nil {
		t.Fatalf("CRI pod container: %v", err)
	}
	s := criSpec(criContainer, "/proc/42/ns/net")
	delete(s.Annotations, criContainerTypeKey)
	if err := refuseLinux(podNamespaces(s)); !errors.Is(err, errdefs.ErrPermissionDenied) {
		t.Fatalf("the same joins outside CRI: %v, want PermissionDenied", err)
	}
	if s.Linux.Namespaces[0].Path == "" {
		t.Fatal("podNamespaces changed the caller's spec")
	}
}
