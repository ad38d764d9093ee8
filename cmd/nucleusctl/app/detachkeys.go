package app

import (
	"fmt"
	"io"
	"strings"
	"sync"
)

// defaultDetachKeys is docker's detach sequence, Ctrl-P Ctrl-Q.
const defaultDetachKeys = "ctrl-p,ctrl-q"

// detachKeysEnv overrides the default detach sequence.
const detachKeysEnv = "NUCLEUS_DETACH_KEYS"

// parseDetachKeys reads docker's syntax: comma-separated keys, each a
// single character or ctrl-X with X one of a-z @ [ \ ] ^ _. An empty
// string means no detach keys.
func parseDetachKeys(s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	var keys []byte
	for _, k := range strings.Split(s, ",") {
		lower := strings.ToLower(k)
		switch {
		case len(k) == 1:
			keys = append(keys, k[0])
		case strings.HasPrefix(lower, "ctrl-") && len(k) == 6:
			c := lower[5]
			switch {
			case c >= 'a' && c <= 'z':
				keys = append(keys, c-'a'+1)
			case c >= '@' && c <= '_' && strings.ContainsRune("@[\\]^_", rune(c)):
				keys = append(keys, c-'@')
			default:
				return nil, fmt.Errorf("detach keys %q: unknown key %q", s, k)
			}
		default:
			return nil, fmt.Errorf("detach keys %q: unknown key %q (want a character or ctrl-a..z, ctrl-@, ctrl-[, ctrl-\\, ctrl-], ctrl-^, ctrl-_)", s, k)
		}
	}
	return keys, nil
}

// detachKeys returns the sequence a flag value asks for: the flag if set,
// else the environment's, else docker's default.
func (g *globals) detachKeys(flag string, set bool) ([]byte, error) {
	if set {
		return parseDetachKeys(flag)
	}
	if v, ok := g.env.LookupEnv(detachKeysEnv); ok {
		return parseDetachKeys(v)
	}
	return parseDetachKeys(defaultDetachKeys)
}

// detachReader passes stdin through, except the detach sequence: bytes
// that may start it are held back until the sequence completes (then
// detach is called and reading ends with EOF; the sequence never reaches
// the container) or breaks (then they are passed through, in order).
type detachReader struct {
	r       io.Reader
	keys    []byte
	detach  func()
	held    int    // keys[:held] seen and held back
	pending []byte // bytes to return before reading again
	done    bool   // the sequence was typed
	once    sync.Once
}

func newDetachReader(r io.Reader, keys []byte, detach func()) io.Reader {
	if len(keys) == 0 {
		return r
	}
	return &detachReader{r: r, keys: keys, detach: detach}
}

func (d *detachReader) Read(p []byte) (int, error) {
	for {
		if len(d.pending) > 0 {
			n := copy(p, d.pending)
			d.pending = d.pending[n:]
			return n, nil
		}
		if d.done {
			d.once.Do(d.detach)
			return 0, io.EOF
		}
		buf := make([]byte, len(p))
		n, err := d.r.Read(buf)
		d.pending = d.filter(buf[:n])
		if err != nil && len(d.pending) == 0 && !d.done {
			return 0, err
		}
	}
}

// filter returns what of chunk (and of held bytes) passes through now.
func (d *detachReader) filter(chunk []byte) []byte {
	var out []byte
	for _, b := range chunk {
		if d.done {
			break // what follows the sequence is dropped
		}
		if b == d.keys[d.held] {
			d.held++
			if d.held == len(d.keys) {
				d.done = true
			}
			continue
		}
		out = append(out, d.keys[:d.held]...)
		d.held = 0
		if b == d.keys[0] {
			d.held = 1
			continue
		}
		out = append(out, b)
	}
	return out
}
