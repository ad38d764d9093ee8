package hooks

import (
	"os"
	"strings"
	"unicode"
	"unicode/utf8"
)

// OutputLimit is how many bytes of a hook's combined stdout and stderr are
// kept: the tail, which is where errors usually are.
const OutputLimit = 4 << 10

// tail keeps the last limit bytes written to it.
type tail struct {
	buf   []byte
	limit int
	total int64
}

func (t *tail) write(p []byte) {
	t.total += int64(len(p))
	if len(p) >= t.limit {
		t.buf = append(t.buf[:0], p[len(p)-t.limit:]...)
		return
	}
	if over := len(t.buf) + len(p) - t.limit; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	t.buf = append(t.buf, p...)
}

// String returns the kept bytes as printable text: invalid UTF-8 and
// control characters other than newline and tab become '?', so a hook
// cannot put terminal escapes into an error shown to a user. A dropped
// head is marked with "...".
func (t *tail) String() string {
	s := strings.ToValidUTF8(string(t.buf), "?")
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' || unicode.IsPrint(r) {
			return r
		}
		return '?'
	}, s)
	s = strings.TrimSpace(s)
	if t.total > int64(len(t.buf)) && s != "" {
		for len(s) > t.limit-3 {
			_, size := utf8.DecodeRuneInString(s)
			s = s[size:]
		}
		s = "..." + s
	}
	return s
}

// drain reads r into t until EOF or r's read deadline, then closes r.
// done is closed when it returns.
func (t *tail) drain(r *os.File, done chan<- struct{}) {
	defer close(done)
	defer r.Close()
	b := make([]byte, 8<<10)
	for {
		n, err := r.Read(b)
		t.write(b[:n])
		if err != nil { // EOF, or the deadline set once the hook was reaped
			return
		}
	}
}
