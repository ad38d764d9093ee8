package config

import "testing"

func TestParseByteSize(t *testing.T) {
	for in, want := range map[string]ByteSize{
		"0": 0, "1024": 1024, "1024b": 1024, "256k": 256 * KiB, "256m": 256 * MiB, "256M": 256 * MiB,
		"256MiB": 256 * MiB, "256mb": 256 * MiB, "1g": GiB, "1G": GiB, "2t": 2 * TiB, " 64m ": 64 * MiB,
	} {
		got, err := ParseByteSize(in)
		if err != nil || got != want {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "m", "-1", "1.5g", "12q", "1 g", "1i", "99999999999t", "0x10"} {
		if got, err := ParseByteSize(in); err == nil {
			t.Errorf("ParseByteSize(%q) = %d, want an error", in, got)
		}
	}
}

func TestByteSizeStringRoundTrips(t *testing.T) {
	for _, b := range []ByteSize{0, 1, 1000, KiB, 1536 * KiB, 512 * MiB, GiB, 3 * TiB} {
		got, err := ParseByteSize(b.String())
		if err != nil || got != b {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d", b.String(), got, err, b)
		}
	}
	if s := (512 * MiB).String(); s != "512m" {
		t.Errorf("(512 MiB).String() = %q, want 512m", s)
	}
}
