package fsapi

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"nucleus.dev/nucleus/bundle"
	"nucleus.dev/nucleus/fsapi/guest"
	"nucleus.dev/nucleus/fsapi/wire"
	"nucleus.dev/nucleus/internal/errdefs"
)

func TestHelperDirIsTheBundlesMountPoint(t *testing.T) {
	if HelperDir != bundle.HelperMountPoint {
		t.Fatalf("fsapi.HelperDir %q != bundle.HelperMountPoint %q", HelperDir, bundle.HelperMountPoint)
	}
}

// flooder is a hostile helper: it writes without end until killed.
func flooder(ctx context.Context, _ []string, _ io.Reader, stdout, _ io.Writer) (int, error) {
	chunk := bytes.Repeat([]byte("x"), 32<<10)
	for ctx.Err() == nil {
		if _, err := stdout.Write(chunk); err != nil {
			<-ctx.Done() // like the sandbox: killed once the daemon cancels
			return 137, nil
		}
	}
	return 137, nil
}

func TestFloodingHelperIsBounded(t *testing.T) {
	f := Files{Limits: Limits{MaxBytes: 1 << 20, MaxEntries: 10}}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var got bytes.Buffer
	checks := map[string]func() error{
		"stat": func() error { _, err := f.Stat(ctx, flooder, "/x"); return err },
		"ls":   func() error { _, err := f.List(ctx, flooder, "/x"); return err },
		"read": func() error {
			return f.Read(ctx, flooder, "/x", func(*wire.Info) error { return nil }, &got)
		},
	}
	for name, check := range checks {
		if err := check(); !errors.Is(err, errdefs.ErrResourceExhausted) {
			t.Errorf("%s with a flooding helper: %v, want ResourceExhausted", name, err)
		}
	}
	if got.Len() > 1<<20+maxInfoBytes {
		t.Errorf("read passed on %d bytes", got.Len())
	}
}

// malformed helpers: a lying answer is an error, never trusted.
func TestMalformedHelperAnswers(t *testing.T) {
	f := Files{Limits: Limits{MaxBytes: 1 << 20, MaxEntries: 10}}
	for _, out := range []string{"", "{", `{"name":"x"} trailing`, `{"unknown":1}`, `[1,2]`} {
		run := func(_ context.Context, _ []string, _ io.Reader, stdout, _ io.Writer) (int, error) {
			_, _ = io.WriteString(stdout, out)
			return 0, nil
		}
		if _, err := f.Stat(context.Background(), run, "/x"); err == nil {
			t.Errorf("answer %q was accepted", out)
		}
	}
	run := func(_ context.Context, _ []string, _ io.Reader, _, stderr io.Writer) (int, error) {
		_, _ = io.WriteString(stderr, strings.Repeat("e", 1<<20))
		return 3, nil
	}
	if _, err := f.Stat(context.Background(), run, "/x"); !errors.Is(err, errdefs.ErrResourceExhausted) || len(err.Error()) > 1000 {
		t.Errorf("a flood on stderr: %v", err)
	}
	// One that floods stderr without end is stopped, not waited for.
	endless := func(ctx context.Context, _ []string, _ io.Reader, _, stderr io.Writer) (int, error) {
		for ctx.Err() == nil {
			if _, err := stderr.Write(make([]byte, 1024)); err != nil {
				<-ctx.Done()
			}
		}
		return 137, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := f.Stat(ctx, endless, "/x"); !errors.Is(err, errdefs.ErrResourceExhausted) {
		t.Errorf("an endless flood on stderr: %v", err)
	}
}

// The real helper, run in-process on the host: a write whose input ends
// without the commit frame leaves nothing.
func TestWriteWithoutCommitLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	run := func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
		return guest.Main(args[1:], stdin, stdout, stderr), nil
	}
	f := Files{Limits: Limits{MaxBytes: 1 << 20, MaxEntries: 10}}
	broken := io.MultiReader(strings.NewReader("partial"), errReader{})
	if _, err := f.Write(context.Background(), run, dir+"/f", WriteOptions{}, broken); err == nil {
		t.Fatal("a write from a broken source succeeded")
	}
	if _, err := f.Write(context.Background(), run, dir+"/big", WriteOptions{}, bytes.NewReader(make([]byte, 1<<20+1))); !errors.Is(err, errdefs.ErrResourceExhausted) {
		t.Fatalf("a write over the cap: %v", err)
	}
	if _, err := f.Write(context.Background(), run, dir+"/ok", WriteOptions{Mode: 0o600}, strings.NewReader("whole")); err != nil {
		t.Fatal(err)
	}
	infos, err := f.List(context.Background(), run, dir)
	if err != nil || len(infos) != 1 || string(infos[0].Name) != "ok" || infos[0].Mode&0o777 != 0o600 {
		t.Fatalf("left in the directory: %+v, %v", infos, err)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("broken") }
