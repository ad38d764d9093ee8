package containerdshim

import (
	"errors"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/internal/cri"
	"nucleus.dev/nucleus/internal/errdefs"
)

func criSpec(kind, netns string) *specs.Spec {
	return &specs.Spec{
		Annotations: map[string]string{cri.ContainerType: kind, cri.SandboxID: "sb1"},
		Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{
			{Type: specs.PIDNamespace, Path: "/proc/42/ns/pid"}, {Type: specs.IPCNamespace, Path: "/proc/42/ns/ipc"},
			{Type: specs.UTSNamespace, Path: "/proc/42/ns/uts"}, {Type: specs.MountNamespace},
			{Type: specs.NetworkNamespace, Path: netns},
		}},
	}
}

// TestPlacePod: the pause container joins the pod's network namespace; the
// pod's container joins the pause container's sandbox (by its nucleusd
// name), not the pause task's /proc/<pid>/ns/net, and sets no resources of
// its own; outside CRI the spec's path is joined.
func TestPlacePod(t *testing.T) {
	pause := &nucleusv1.ContainerSpec{}
	if err := PlacePod(pause, criSpec(cri.ContainerTypeSandbox, "/var/run/netns/cni-1"), "k8s.io"); err != nil {
		t.Fatal(err)
	}
	if pause.GetNetworkNamespace() != "/var/run/netns/cni-1" || pause.GetPod() != "" {
		t.Fatalf("pause: network_namespace %q pod %q; want the pod's namespace joined", pause.GetNetworkNamespace(), pause.GetPod())
	}
	app := &nucleusv1.ContainerSpec{Resources: &nucleusv1.Resources{MemoryBytes: 1 << 30}}
	if err := PlacePod(app, criSpec(cri.ContainerTypeContainer, "/proc/42/ns/net"), "k8s.io"); err != nil {
		t.Fatal(err)
	}
	if app.GetPod() != ContainerName("k8s.io", "sb1") || app.GetNetworkNamespace() != "" || app.GetResources() != nil {
		t.Fatalf("app: pod %q network_namespace %q resources %v; want the pause container's sandbox only", app.GetPod(), app.GetNetworkNamespace(), app.GetResources())
	}
	orphan := criSpec(cri.ContainerTypeContainer, "/proc/42/ns/net")
	delete(orphan.Annotations, cri.SandboxID)
	if err := PlacePod(&nucleusv1.ContainerSpec{}, orphan, "k8s.io"); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Fatalf("CRI container without a sandbox id: %v, want InvalidArgument", err)
	}
	plain := &nucleusv1.ContainerSpec{}
	if err := PlacePod(plain, &specs.Spec{Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: specs.NetworkNamespace, Path: "/run/netns/x"}}}}, "default"); err != nil || plain.GetNetworkNamespace() != "/run/netns/x" {
		t.Fatalf("non-CRI task: %q, %v", plain.GetNetworkNamespace(), err)
	}
}

// TestPodNamespaces: a CRI pod container's joins of the pod's IPC, UTS and
// PID namespaces pass the refusal (it gets its own sandbox); the same
// joins outside CRI are still refused.
func TestPodNamespaces(t *testing.T) {
	if err := refuseLinux(podNamespaces(criSpec(cri.ContainerTypeContainer, "/proc/42/ns/net"))); err != nil {
		t.Fatalf("CRI pod container: %v", err)
	}
	s := criSpec(cri.ContainerTypeContainer, "/proc/42/ns/net")
	delete(s.Annotations, cri.ContainerType)
	if err := refuseLinux(podNamespaces(s)); !errors.Is(err, errdefs.ErrPermissionDenied) {
		t.Fatalf("the same joins outside CRI: %v, want PermissionDenied", err)
	}
	if s.Linux.Namespaces[0].Path == "" {
		t.Fatal("podNamespaces changed the caller's spec")
	}
}

// TestPodResources: the pod's limits kubelet gives (the CRI plugin's
// sandbox annotations) size the pause container, and with it the pod's
// sandbox; none, zero or -1 leave nucleusd's defaults; garbage is refused.
func TestPodResources(t *testing.T) {
	pause := criSpec(cri.ContainerTypeSandbox, "/var/run/netns/cni-1")
	pause.Annotations[cri.SandboxMemory] = "268435456"
	pause.Annotations[cri.SandboxCPUQuota] = "150000"
	pause.Annotations[cri.SandboxCPUPeriod] = "100000"
	cs := &nucleusv1.ContainerSpec{}
	if err := PlacePod(cs, pause, "k8s.io"); err != nil {
		t.Fatal(err)
	}
	if r := cs.GetResources(); r.GetMemoryBytes() != 256<<20 || r.GetCpus() != 1.5 {
		t.Fatalf("pause container's resources %v, want 256 MiB and 1.5 CPUs", r)
	}
	for _, v := range []string{"0", "-1"} {
		none := criSpec(cri.ContainerTypeSandbox, "")
		none.Annotations[cri.SandboxMemory], none.Annotations[cri.SandboxCPUQuota] = v, v
		cs := &nucleusv1.ContainerSpec{}
		if err := PlacePod(cs, none, "k8s.io"); err != nil || cs.GetResources() != nil {
			t.Errorf("limits %s: %v %v, want none (nucleusd's defaults)", v, cs.GetResources(), err)
		}
	}
	bad := criSpec(cri.ContainerTypeSandbox, "")
	bad.Annotations[cri.SandboxMemory] = "lots"
	if err := PlacePod(&nucleusv1.ContainerSpec{}, bad, "k8s.io"); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Fatalf("garbage memory annotation: %v, want InvalidArgument", err)
	}
}
