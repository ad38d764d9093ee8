package containerlog

import (
	"fmt"
	"unicode/utf8"
)

// Escape renders untrusted output so a terminal shows it rather than
// obeys it: C0 and C1 control characters (ESC included, so ANSI escape
// sequences lose their effect) and DEL become \xNN or \uNNNN, bytes that
// are not UTF-8 become \xNN, and bidirectional overrides and line or
// paragraph separators become \uNNNN. Tab and printable text, backslashes
// included, are kept as they are: the result is for reading, not for
// decoding back.
func Escape(content []byte) string {
	out := make([]byte, 0, len(content))
	for i := 0; i < len(content); {
		r, n := utf8.DecodeRune(content[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			out = fmt.Appendf(out, `\x%02x`, content[i])
		case r == '\t':
			out = append(out, '\t')
		case r < 0x20 || r == 0x7f:
			out = fmt.Appendf(out, `\x%02x`, r)
		case (r >= 0x80 && r < 0xa0) || isBidiOrSeparator(r):
			out = fmt.Appendf(out, `\u%04x`, r)
		default:
			out = append(out, content[i:i+n]...)
		}
		i += n
	}
	return string(out)
}

// isBidiOrSeparator reports the format characters that can reorder or break
// what a terminal shows ("Trojan Source", CVE-2021-42574).
func isBidiOrSeparator(r rune) bool {
	switch {
	case r == 0x061c, r == 0x200e, r == 0x200f: // ALM, LRM, RLM
		return true
	case r >= 0x2028 && r <= 0x202e: // LS, PS, LRE..RLO
		return true
	case r >= 0x2066 && r <= 0x2069: // LRI..PDI
		return true
	}
	return false
}
