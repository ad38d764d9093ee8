package hooks

import (
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

// TestConfigTOML decodes the example the way nucleusd will.
func TestConfigTOML(t *testing.T) {
	const doc = `
[hooks]
trusted_dirs = ["/usr/libexec/nucleus/hooks"]
default_set = "audit"
[hooks.sets.audit]
create_runtime = [{ path = "/usr/libexec/nucleus/hooks/audit", args = ["audit", "--json"], env = ["A=B"], timeout = "5s" }]
poststart      = [{ path = "/usr/bin/true" }]
poststop       = [{ path = "/usr/bin/true", timeout = "1m30s" }]
`
	var file struct {
		Hooks Config `toml:"hooks"`
	}
	md, err := toml.Decode(doc, &file)
	if err != nil {
		t.Fatal(err)
	}
	if u := md.Undecoded(); len(u) > 0 {
		t.Fatalf("undecoded keys: %v", u)
	}
	c := file.Hooks
	h := c.Sets["audit"].CreateRuntime[0]
	if c.TrustedDirs[0] != "/usr/libexec/nucleus/hooks" || c.DefaultSet != "audit" ||
		h.Path != "/usr/libexec/nucleus/hooks/audit" || strings.Join(h.Args, " ") != "audit --json" ||
		h.Env[0] != "A=B" || time.Duration(h.Timeout) != 5*time.Second ||
		time.Duration(c.Sets["audit"].Poststop[0].Timeout) != 90*time.Second ||
		c.Sets["audit"].Poststart[0].Timeout != 0 {
		t.Fatalf("decoded %+v", c)
	}
	var bad struct{ Hooks Config }
	_, err = toml.Decode("[hooks.sets.x]\npoststop = [{ path = \"/x\", timeout = \"5 parsecs\" }]", &bad)
	if err == nil || !strings.Contains(err.Error(), `invalid duration "5 parsecs"`) {
		t.Fatalf("bad duration: %v", err)
	}
	if b, _ := Duration(1500 * time.Millisecond).MarshalText(); string(b) != "1.5s" {
		t.Fatalf("MarshalText = %s", b)
	}
}

func TestTail(t *testing.T) {
	tl := &tail{limit: 8}
	tl.write([]byte("abc"))
	if tl.String() != "abc" {
		t.Fatalf("%q", tl.String())
	}
	tl.write([]byte("defghij"))
	if got := tl.String(); got != "...fghij" || len(got) > 8 {
		t.Fatalf("%q", got)
	}
	tl.write([]byte("0123456789\x1b[31m"))
	if got := tl.String(); got != "...?[31m" || len(got) > 8 {
		t.Fatalf("escape kept or too long: %q", got)
	}
}
