package containerlog

import "testing"

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		"plain text, tabs\tand \\backslashes\\": "plain text, tabs\tand \\backslashes\\",
		"\x1b[2J\x1b]0;title\x07":               `\x1b[2J\x1b]0;title\x07`,
		"cr\rlf\nnul\x00del\x7f":                `cr\x0dlf\x0anul\x00del\x7f`,
		"c1 csi \u009b31m":                      `c1 csi \u009b31m`,
		"raw 8-bit csi \x9b31m":                 `raw 8-bit csi \x9b31m`,
		"bidi \u202eevil\u202c \u2066x\u2069":   `bidi \u202eevil\u202c \u2066x\u2069`,
		"line\u2028sep":                         `line\u2028sep`,
		"utf-8 ok: héllo 世界 👍🏽":                 "utf-8 ok: héllo 世界 👍🏽",
		"bad utf-8 \xff\xfe":                    `bad utf-8 \xff\xfe`,
		"truncated rune \xe4\xb8":               `truncated rune \xe4\xb8`,
	} {
		if got := Escape([]byte(in)); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
	}
}
