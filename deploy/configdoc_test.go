package deploy

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

const configDocHeader = `# Configuration reference

<!-- Generated from daemon/config by ` + "`go test ./deploy -update`" + `; do not edit. -->

nucleusd reads one TOML file: ` + "`/etc/nucleus/nucleusd.toml`" + `, or the file named by
` + "`--config`" + ` or ` + "`$NUCLEUS_CONFIG`" + `. A missing file at the default path means the
built-in defaults; a missing file that was named is an error. The file must set
` + "`version = 1`" + `, and unknown keys are errors. ` + "`nucleusd config default`" + ` prints
the file below (it is installed as ` + "`/etc/nucleus/nucleusd.toml`" + `), and
` + "`nucleusd config check`" + ` validates a file, and every hook it
configures on disk exactly as nucleusd does when it starts.

Flags override a few keys: ` + "`--address`" + ` (` + "`[api] socket`" + `), ` + "`--log-level`" + `
(` + "`[logging] level`" + `); ` + "`--root`" + ` (default ` + "`/var/lib/nucleus`" + `) and ` + "`--state`" + `
(default ` + "`/run/nucleus`" + `) are flags only. Sizes are bytes or take a binary
suffix (` + "`\"256k\"`, `\"16m\"`, `\"1g\"`" + `); durations use Go's syntax (` + "`\"90s\"`, `\"1h\"`" + `).
See [security.md](security.md) for what the security keys allow and deny.
`

var (
	tableRe = regexp.MustCompile(`^(?:# )?(\[\[?[a-z0-9_.<>]+\]\]?)$`)
	keyRe   = regexp.MustCompile(`^(?:# )?([a-z0-9_]+) = (.*)$`)
)

// renderConfigDoc turns the reference config (doc comment, then a key or a
// table header) into one Markdown table per TOML table, followed by the
// whole file.
func renderConfigDoc(t *testing.T, ref string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString(configDocHeader)
	var doc []string
	inTable := false
	keys := 0
	lines := strings.Split(ref, "\n")
	// Skip the file's own header (up to the first blank line).
	for len(lines) > 0 && lines[0] != "" {
		lines = lines[1:]
	}
	section := func(title, text string) {
		fmt.Fprintf(&b, "\n## %s\n\n%s\n", title, text)
		inTable = false
	}
	section("Top level", "Keys before any table.")
	for _, line := range lines {
		switch m, k := tableRe.FindStringSubmatch(line), keyRe.FindStringSubmatch(line); {
		case line == "":
			doc = nil
		case m != nil:
			text := strings.Join(doc, " ")
			switch {
			case strings.HasPrefix(m[1], "[[images."):
				text += " An array of tables: one entry per registry; no entry by default."
			case strings.HasPrefix(m[1], "[["):
				text += " An array of tables: one entry per hook, run in order; no entry by default."
			case strings.HasPrefix(line, "# "):
				text += " None by default; replace `<name>` with the set's name."
			}
			section("`"+m[1]+"`", text)
			doc = nil
		case k != nil:
			if !inTable {
				b.WriteString("\n| Key | Default | Meaning |\n|---|---|---|\n")
				inTable = true
			}
			fmt.Fprintf(&b, "| `%s` | `%s` | %s |\n", k[1], k[2], mdEscape(strings.Join(doc, " ")))
			doc = nil
			keys++
		case strings.HasPrefix(line, "# "):
			doc = append(doc, strings.TrimPrefix(line, "# "))
		default:
			t.Fatalf("reference line not understood: %q", line)
		}
	}
	if want := strings.Count(ref, " = "); keys != want {
		t.Fatalf("rendered %d keys, the reference has %d", keys, want)
	}
	b.WriteString("\n## The whole default file\n\n```toml\n" + ref + "```\n")
	return b.String()
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
