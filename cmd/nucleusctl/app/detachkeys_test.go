package app

import (
	"bytes"
	"io"
	"testing"
	"testing/iotest"
)

func TestParseDetachKeys(t *testing.T) {
	for in, want := range map[string][]byte{
		"ctrl-p,ctrl-q": {16, 17}, "ctrl-a": {1}, "ctrl-@,ctrl-_": {0, 31}, "a,ctrl-[": {'a', 27}, "": nil,
	} {
		got, err := parseDetachKeys(in)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("parseDetachKeys(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"ctrl-1", "ctrl-", "ab", "ctrl-p,,ctrl-q"} {
		if _, err := parseDetachKeys(bad); err == nil {
			t.Errorf("parseDetachKeys(%q) accepted", bad)
		}
	}
}

func TestDetachReader(t *testing.T) {
	keys := []byte{16, 17}
	for _, c := range []struct {
		name, in, out string
		detached      bool
	}{
		{"plain", "echo hi\r", "echo hi\r", false},
		{"sequence", "ab\x10\x11cd", "ab", true},
		{"lone ctrl-p then a key passes both", "a\x10b", "a\x10b", false},
		{"double ctrl-p", "\x10\x10\x11", "\x10", true},
		{"ctrl-p at the end is held", "x\x10", "x", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			detached := false
			// One byte per Read: the sequence spans reads.
			r := newDetachReader(iotest.OneByteReader(bytes.NewReader([]byte(c.in))), keys, func() { detached = true })
			got, err := io.ReadAll(r)
			if err != nil || string(got) != c.out || detached != c.detached {
				t.Errorf("got %q, %v, detached %v; want %q, detached %v", got, err, detached, c.out, c.detached)
			}
		})
	}
}
