package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/client"
	"nucleus.dev/nucleus/internal/errdefs"
)

// childEnv makes the test binary act as a client process (for callers with
// another uid): it runs the calls in childRequest and prints childResult.
const childEnv = "NUCLEUS_E2E_CHILD"

type childRequest struct {
	Socket string
	Calls  []childCall
}

type childCall struct {
	Op        string // create, get, list, delete, info, update; start, follow, conns, hold (dos_test.go); pull, rmi, prune (images_access_test.go)
	ID        string
	Spec      *nucleusv1.ContainerSpec `json:",omitempty"`
	Resources *nucleusv1.Resources     `json:",omitempty"` // update
	Egress    *nucleusv1.EgressPolicy  `json:",omitempty"` // update-network
	Count     int                      `json:",omitempty"`
	Path      string                   `json:",omitempty"` // readfile, writefile, copyfrom (files_test.go)
}

type childResult struct {
	Kind  string   // errdefs kind of the error, "" on success
	Error string   `json:",omitempty"`
	ID    string   `json:",omitempty"`
	IDs   []string `json:",omitempty"`
	UID   uint32   `json:",omitempty"`
	// Containers and StateCounts are info's counts (state name → count).
	Containers  uint32            `json:",omitempty"`
	StateCounts map[string]uint32 `json:",omitempty"`
	// OK and Refused count what a follow or conns call opened and what
	// the daemon refused (ResourceExhausted, or a connection it closed).
	OK      int `json:",omitempty"`
	Refused int `json:",omitempty"`
}

func TestMain(m *testing.M) {
	if req := os.Getenv(childEnv); req != "" {
		os.Exit(runChild(req))
	}
	code := m.Run()
	// The binaries built for this run (≈ 130 MB) go with it.
	if v, ok := builds.Load(""); ok {
		if b := v.(*build); b.path != "" {
			_ = os.RemoveAll(b.path)
		}
	}
	os.Exit(code)
}

func runChild(raw string) int {
	var req childRequest
	if err := json.Unmarshal([]byte(raw), &req); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var results []childResult
	c, err := client.New(ctx, "unix://"+req.Socket)
	last := "" // the id of the last create, for calls without one
	for _, call := range req.Calls {
		var r childResult
		if call.ID == "" {
			call.ID = last
		}
		if call.Op == "hold" {
			// Report so far, then keep every stream and connection open
			// until the parent closes stdin.
			_ = json.NewEncoder(os.Stdout).Encode(results)
			_, _ = io.Copy(io.Discard, os.Stdin)
		}
		if err == nil {
			r, err = doChildCall(ctx, c, call), nil
			if call.Op == "create" && r.ID != "" {
				last = r.ID
			}
		} else {
			r = childResult{Kind: kindName(err), Error: err.Error()}
			err = nil
		}
		results = append(results, r)
	}
	_ = json.NewEncoder(os.Stdout).Encode(results)
	return 0
}

func doChildCall(ctx context.Context, c *client.Client, call childCall) childResult {
	var r childResult
	var err error
	switch call.Op {
	case "create":
		var ct *nucleusv1.Container
		if ct, err = c.Create(ctx, call.Spec); err == nil {
			r.ID = ct.GetId()
		}
	case "get":
		var ct *nucleusv1.Container
		if ct, err = c.Get(ctx, call.ID); err == nil {
			r.ID = ct.GetId()
		}
	case "update":
		_, err = c.Update(ctx, call.ID, call.Resources)
	case "update-network":
		_, err = c.UpdateNetwork(ctx, call.ID, call.Egress)
	case "delete":
		_, err = c.Delete(ctx, call.ID, true)
	case "list":
		var cs []*nucleusv1.Container
		if cs, err = c.List(ctx, nil); err == nil {
			for _, ct := range cs {
				r.IDs = append(r.IDs, ct.GetId())
			}
		}
	case "stats": // one sample of ID, or of all the caller's containers
		req := &nucleusv1.StatsRequest{}
		if call.ID != "" {
			req.Ids = []string{call.ID}
		}
		err = c.Stats(ctx, req, func(ss []*nucleusv1.ContainerStats) error {
			for _, st := range ss {
				r.IDs = append(r.IDs, st.GetId())
			}
			return nil
		})
	case "info":
		var info *nucleusv1.InfoResponse
		if info, err = c.Info(ctx); err == nil {
			r.UID, r.Containers = info.GetCallerUid(), info.GetContainers()
			r.StateCounts = map[string]uint32{}
			for _, sc := range info.GetStateCounts() {
				r.StateCounts[sc.GetState().String()] = sc.GetCount()
			}
		}
	case "readfile":
		_, err = c.ReadFile(ctx, call.ID, call.Path, io.Discard)
	case "writefile":
		_, err = c.WriteFile(ctx, call.ID, call.Path, strings.NewReader("x"), client.FileOptions{})
	case "copyfrom":
		_, err = c.CopyFrom(ctx, call.ID, call.Path, io.Discard)
	case "attach": // tty_hostile_test.go
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err = c.Attach(actx, call.ID, client.AttachStreamOptions{Stdin: strings.NewReader("echo stranger\n")})
		cancel()
	case "start", "follow", "conns", "hold":
		r, err = doDoSCall(ctx, c, call)
	case "snapshot-list", "snapshot-get", "snapshot-restore", "snapshot-rm", "checkpoint":
		r, err = doSnapshotCall(ctx, c, call)
	case "pull", "rmi", "prune":
		r, err = doImageCall(ctx, c, call)
	case "shim-connect": // containerd_hostile_test.go
		err = doShimConnect(ctx, call.Path)
	default:
		err = fmt.Errorf("unknown op %q", call.Op)
	}
	if err != nil {
		r.Kind, r.Error = kindName(err), err.Error()
	}
	return r
}

func kindName(err error) string {
	for name, k := range map[string]error{
		"InvalidArgument": errdefs.ErrInvalidArgument, "NotFound": errdefs.ErrNotFound,
		"AlreadyExists": errdefs.ErrAlreadyExists, "FailedPrecondition": errdefs.ErrFailedPrecondition,
		"PermissionDenied": errdefs.ErrPermissionDenied, "ResourceExhausted": errdefs.ErrResourceExhausted,
		"Unavailable": errdefs.ErrUnavailable,
	} {
		if errors.Is(err, k) {
			return name
		}
	}
	return "Other"
}

// childBinary copies the test binary (it lives in a private go-build dir)
// to a 0755 directory, removed at cleanup, where another uid can run it.
func childBinary(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "nucleus-e2e-child-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "child")
	data, err := os.ReadFile(self)
	if err == nil {
		err = os.WriteFile(bin, data, 0o755)
	}
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// asUser runs calls as uid/gid (with the given supplementary groups) in a
// child process and returns one result per call.
func asUser(t *testing.T, socket string, uid, gid uint32, groups []uint32, calls ...childCall) []childResult {
	t.Helper()
	bin := childBinary(t)
	req, _ := json.Marshal(childRequest{Socket: socket, Calls: calls})
	cmd := exec.Command(bin)
	cmd.Env = []string{childEnv + "=" + string(req)}
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid, Groups: groups}}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child as uid %d: %v (%s)", uid, err, out)
	}
	var results []childResult
	if err := json.Unmarshal(out, &results); err != nil {
		t.Fatalf("child output %q: %v", out, err)
	}
	return results
}
