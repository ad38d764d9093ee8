package config

import (
	"fmt"
	"strconv"
	"strings"
)

// ByteSize is a size in bytes. In TOML it is an integer (bytes) or a string
// with an optional binary suffix: "1024", "256k", "256m", "1g", "2t"; "MiB",
// "MB", "M" and "m" all mean 2^20.
type ByteSize int64

// Binary size units.
const (
	KiB ByteSize = 1 << (10 * (iota + 1))
	MiB
	GiB
	TiB
)

// UnmarshalText parses a size such as "256m" or "1024".
func (b *ByteSize) UnmarshalText(text []byte) error {
	n, err := ParseByteSize(string(text))
	if err != nil {
		return err
	}
	*b = n
	return nil
}

// MarshalText renders the size with the largest unit that divides it.
func (b ByteSize) MarshalText() ([]byte, error) { return []byte(b.String()), nil }

// String renders the size as ParseByteSize reads it, e.g. "512m".
func (b ByteSize) String() string {
	for _, u := range []struct {
		size   ByteSize
		suffix string
	}{{TiB, "t"}, {GiB, "g"}, {MiB, "m"}, {KiB, "k"}} {
		if b != 0 && b%u.size == 0 {
			return strconv.FormatInt(int64(b/u.size), 10) + u.suffix
		}
	}
	return strconv.FormatInt(int64(b), 10)
}

// ParseByteSize reads a non-negative size: digits, then optionally a unit
// k, m, g or t (any case, optionally followed by "b" or "ib"), all binary
// multiples; a bare "b" means bytes.
func ParseByteSize(s string) (ByteSize, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	i := strings.IndexFunc(t, func(r rune) bool { return r < '0' || r > '9' })
	if i < 0 {
		i = len(t)
	}
	digits, unit := t[:i], t[i:]
	var mult ByteSize
	switch unit {
	case "", "b":
		mult = 1
	case "k", "kb", "kib":
		mult = KiB
	case "m", "mb", "mib":
		mult = MiB
	case "g", "gb", "gib":
		mult = GiB
	case "t", "tb", "tib":
		mult = TiB
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || mult == 0 {
		return 0, fmt.Errorf("invalid size %q: want bytes or a number with k, m, g or t (e.g. \"256m\")", s)
	}
	if n > int64((1<<63-1)/mult) {
		return 0, fmt.Errorf("invalid size %q: too large", s)
	}
	return ByteSize(n) * mult, nil
}
