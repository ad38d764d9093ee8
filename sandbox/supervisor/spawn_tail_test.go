package supervisor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLogTailQuotesACrash: a log ending in a Go crash is quoted from the
// crash's first line (why it died), not from the end of its goroutine dump;
// any other log by its last 2 KiB.
func TestLogTailQuotesACrash(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, LogFile)
	lines := `{"msg":"created"}` + "\npanic: runtime error: invalid memory address\n\ngoroutine 1 [running]:\n" + strings.Repeat("main.f()\n\t/x.go:1\n", 500)
	if err := os.WriteFile(path, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := LogTail(path); !strings.HasPrefix(got, "panic: runtime error") || len(got) > 2048 {
		t.Errorf("crash tail starts %.60q (%d bytes)", got, len(got))
	}
	plain := strings.Repeat(`{"msg":"request"}`+"\n", 500) + `{"msg":"last"}`
	if err := os.WriteFile(path, []byte(plain), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := LogTail(path); !strings.HasSuffix(got, `{"msg":"last"}`) || len(got) > 2048 {
		t.Errorf("plain tail ends %q (%d bytes)", got[max(0, len(got)-40):], len(got))
	}
	if got := LogTail(filepath.Join(dir, "missing")); got != "(none)" {
		t.Errorf("missing log: %q", got)
	}
}
