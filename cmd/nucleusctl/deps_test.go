package main

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestBuildLeavesOutTracing: built as `make build` builds it (tag
// grpcnotrace), nucleusctl links neither gRPC's request tracing nor the
// HTML template engine it pulls in, which every call would pay for at start
// (bench/README.md, session 15: 0.3 ms of CPU per call). A new import of
// either fails here.
func TestBuildLeavesOutTracing(t *testing.T) {
	mk, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"BUILD_TAGS ?= grpcnotrace\n", "build -trimpath -tags '$(BUILD_TAGS)'"} {
		if !strings.Contains(string(mk), want) {
			t.Errorf("the Makefile has no %q", want)
		}
	}
	out, err := exec.Command("go", "list", "-tags", "grpcnotrace", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 50 || !slices.Contains(deps, "google.golang.org/grpc") {
		t.Fatalf("go list -deps gave %d packages without gRPC: %q", len(deps), out)
	}
	for _, pkg := range []string{"golang.org/x/net/trace", "html/template"} {
		if slices.Contains(deps, pkg) {
			t.Errorf("nucleusctl links %s", pkg)
		}
	}
}
