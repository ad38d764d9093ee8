package client

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/internal/errdefs"
)

// wantInvalid fails unless err is an InvalidArgument error mentioning sub.
func wantInvalid(t *testing.T, in string, err error, sub string) {
	t.Helper()
	if !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("%q: err = %v, want InvalidArgument", in, err)
		return
	}
	if !strings.Contains(err.Error(), sub) {
		t.Errorf("%q: err = %q, want it to mention %q", in, err, sub)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"0": 0, "1024": 1024, "64k": 64 << 10, "256m": 256 << 20, "256M": 256 << 20,
		"256mb": 256 << 20, "256MiB": 256 << 20, "1g": 1 << 30, "1.5g": 3 << 29,
		"0.5k": 512, "2t": 2 << 40, "1p": 1 << 50, "10b": 10, " 8m ": 8 << 20, "1 g": 1 << 30,
		"9223372036854775807": 1<<63 - 1,
	} {
		got, err := ParseSize(in)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for in, sub := range map[string]string{
		"": "want a number", "m": "want a number", "-1m": "want a number", "1x": "want a number",
		"1.g": "want a number", "1e3": "want a number", "abc": "want a number",
		"8388608t": "too large", "9223372036854775808": "too large", "9000000000.5p": "too large",
	} {
		_, err := ParseSize(in)
		wantInvalid(t, in, err, sub)
	}
}

func TestParseVolume(t *testing.T) {
	wd, _ := os.Getwd()
	bind := nucleusv1.VolumeType_VOLUME_TYPE_BIND
	for in, want := range map[string]*nucleusv1.Volume{
		"/data:/mnt":     {Type: bind, Source: "/data", Destination: "/mnt"},
		"/data/:/mnt:ro": {Type: bind, Source: "/data", Destination: "/mnt", ReadOnly: true},
		"/data:/mnt:rw":  {Type: bind, Source: "/data", Destination: "/mnt"},
		"./sub:/mnt":     {Type: bind, Source: filepath.Join(wd, "sub"), Destination: "/mnt"},
		"../up:/mnt":     {Type: bind, Source: filepath.Join(filepath.Dir(wd), "up"), Destination: "/mnt"},
		".:/mnt":         {Type: bind, Source: wd, Destination: "/mnt"},
		"/a/../b:/mnt/x": {Type: bind, Source: "/b", Destination: "/mnt/x"},
	} {
		got, err := ParseVolume(in)
		if err != nil || !proto.Equal(got, want) {
			t.Errorf("ParseVolume(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for in, sub := range map[string]string{
		"/data":          "want SRC:DST",
		"/a:/b:ro:extra": "want SRC:DST",
		":/mnt":          "empty source",
		"myvol:/mnt":     "named volumes are not supported",
		"/data:mnt":      "destination must be an absolute",
		"/data:/mnt:z":   `mode "z"`,
		"/data:/mnt:":    `mode ""`,
	} {
		_, err := ParseVolume(in)
		wantInvalid(t, in, err, sub)
	}
}

func TestParseTmpfs(t *testing.T) {
	tmpfs := nucleusv1.VolumeType_VOLUME_TYPE_TMPFS
	for in, want := range map[string]*nucleusv1.Volume{
		"/tmp":            {Type: tmpfs, Destination: "/tmp"},
		"/tmp:size=64m":   {Type: tmpfs, Destination: "/tmp", SizeBytes: 64 << 20},
		"/tmp:ro,size=1g": {Type: tmpfs, Destination: "/tmp", SizeBytes: 1 << 30, ReadOnly: true},
		"/tmp:ro,rw":      {Type: tmpfs, Destination: "/tmp"},
	} {
		got, err := ParseTmpfs(in)
		if err != nil || !proto.Equal(got, want) {
			t.Errorf("ParseTmpfs(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for in, sub := range map[string]string{
		"":               "absolute",
		"tmp":            "absolute",
		":size=1m":       "absolute",
		"/tmp:size=lots": "invalid size",
		"/tmp:mode=1777": `unsupported option "mode=1777"`,
		"/tmp:noexec":    "unsupported option",
	} {
		_, err := ParseTmpfs(in)
		wantInvalid(t, in, err, sub)
	}
}

func lookupFrom(m map[string]string) LookupEnv {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestParseEnv(t *testing.T) {
	got, err := ParseEnv([]string{"A=1", "B=", "HOME", "UNSET", "C=x=y"}, lookupFrom(map[string]string{"HOME": "/root"}))
	want := []string{"A=1", "B=", "HOME=/root", "C=x=y"}
	if err != nil || strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("ParseEnv = %q, %v; want %q", got, err, want)
	}
	for _, in := range []string{"", "=v", "A B=1"} {
		_, err := ParseEnv([]string{in}, lookupFrom(nil))
		wantInvalid(t, in, err, "want KEY=VALUE")
	}
}

func TestParseEnvFile(t *testing.T) {
	file := "\xef\xbb\xbf# comment\nA=1\n\n   B=two words  \n  # indented comment\nHOME\nUNSET\nC=\"quoted\"\nD=x=y\nE \n"
	got, err := ParseEnvFile(strings.NewReader(file), "f", lookupFrom(map[string]string{"HOME": "/root", "E": "e"}))
	want := []string{"A=1", "B=two words  ", "HOME=/root", `C="quoted"`, "D=x=y", "E=e"}
	if err != nil || strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("ParseEnvFile = %q, %v; want %q", got, err, want)
	}
	for in, sub := range map[string]string{
		"=v\n":         "line 1: no variable name",
		"A=1\nB C=1\n": `line 2: variable "B C" contains whitespace`,
		"A=\xff\n":     "line 1: invalid UTF-8",
	} {
		_, err := ParseEnvFile(strings.NewReader(in), "f", lookupFrom(nil))
		wantInvalid(t, in, err, sub)
	}
	path := filepath.Join(t.TempDir(), "env")
	os.WriteFile(path, []byte("X=1\n"), 0o600)
	if got, err := ReadEnvFile(path, lookupFrom(nil)); err != nil || len(got) != 1 || got[0] != "X=1" {
		t.Errorf("ReadEnvFile = %q, %v", got, err)
	}
	_, err = ReadEnvFile(path+".missing", lookupFrom(nil))
	wantInvalid(t, "missing file", err, "no such file")
}

func TestParseSignal(t *testing.T) {
	for in, want := range map[string]uint32{
		"SIGTERM": 15, "TERM": 15, "term": 15, "sigterm": 15, "15": 15, "KILL": 9,
		"SIGINT": 2, "HUP": 1, "USR1": 10, "SIGUSR2": 12, "WINCH": 28, "64": 64, "1": 1,
	} {
		got, err := ParseSignal(in)
		if err != nil || got != want {
			t.Errorf("ParseSignal(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for in, sub := range map[string]string{
		"0": "from 1 to 64", "65": "from 1 to 64", "": "want a name", "SIGFOO": "want a name",
		"-9": "want a name", "SIG": "want a name",
	} {
		_, err := ParseSignal(in)
		wantInvalid(t, in, err, sub)
	}
}

func TestParseUser(t *testing.T) {
	for in, want := range map[string]*nucleusv1.User{
		"0": {}, "1000": {Uid: 1000}, "1000:100": {Uid: 1000, Gid: 100},
		"4294967295:0": {Uid: 4294967295},
	} {
		got, err := ParseUser(in)
		if err != nil || !proto.Equal(got, want) {
			t.Errorf("ParseUser(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for in, sub := range map[string]string{
		"nobody": `"nobody" is a name`, "1000:users": `"users" is a name`,
		"": "empty id", "1000:": "empty id", "4294967296": "out of range", "-1": "is a name",
		"1:2:3": `"2:3" is a name`,
	} {
		_, err := ParseUser(in)
		wantInvalid(t, in, err, sub)
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"10m":                           now.Add(-10 * time.Minute),
		"1h30m":                         now.Add(-90 * time.Minute),
		"0":                             time.Unix(0, 0),
		"1700000000":                    time.Unix(1700000000, 0),
		"1700000000.5":                  time.Unix(1700000000, 500000000),
		"2026-01-02T15:04:05Z":          time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC),
		"2026-01-02T15:04:05.123+01:00": time.Date(2026, 1, 2, 14, 4, 5, 123000000, time.UTC),
		"2026-01-02T15:04:05":           time.Date(2026, 1, 2, 15, 4, 5, 0, time.Local),
		"2026-01-02":                    time.Date(2026, 1, 2, 0, 0, 0, 0, time.Local),
	} {
		got, err := ParseSince(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseSince(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for in, sub := range map[string]string{
		"-10m": "must be positive", "yesterday": "want a duration", "": "want a duration",
		"1700000000.": "want a duration", "1700000000.1234567890": "want a duration",
		"2026-13-01": "want a duration",
	} {
		_, err := ParseSince(in, now)
		wantInvalid(t, in, err, sub)
	}
}

func TestParseSecret(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token")
	os.WriteFile(path, []byte("s3cret\n"), 0o600)
	got, err := ParseSecret("token=" + path)
	want := &nucleusv1.Secret{Name: "token", Data: []byte("s3cret\n"), Destination: "/run/secrets/token"}
	if err != nil || !proto.Equal(got, want) {
		t.Errorf("ParseSecret = %v, %v; want %v", got, err, want)
	}
	for in, sub := range map[string]string{
		"token": "want NAME=FILE", "=" + path: "want NAME=FILE", "token=": "want NAME=FILE",
		"a/b=" + path: "want NAME=FILE", "token=" + path + ".missing": "no such file",
	} {
		_, err := ParseSecret(in)
		wantInvalid(t, in, err, sub)
	}
}

func TestParseLabelsNetworkTail(t *testing.T) {
	l, err := ParseLabels([]string{"a=1", "b", "c=x=y"})
	if err != nil || len(l) != 3 || l["a"] != "1" || l["b"] != "" || l["c"] != "x=y" {
		t.Errorf("ParseLabels = %v, %v", l, err)
	}
	if l, err := ParseLabels(nil); l != nil || err != nil {
		t.Errorf("ParseLabels(nil) = %v, %v", l, err)
	}
	_, err = ParseLabels([]string{"=v"})
	wantInvalid(t, "=v", err, "want KEY=VALUE")

	for _, n := range []string{"none", "sandbox", "host"} {
		if got, err := ParseNetwork(n); err != nil || got != n {
			t.Errorf("ParseNetwork(%q) = %q, %v", n, got, err)
		}
	}
	_, err = ParseNetwork("bridge")
	wantInvalid(t, "bridge", err, "want none, loopback, egress or host")

	if n, err := ParseTail("all"); n != nil || err != nil {
		t.Errorf("ParseTail(all) = %v, %v", n, err)
	}
	if n, err := ParseTail("5"); err != nil || *n != 5 {
		t.Errorf("ParseTail(5) = %v, %v", n, err)
	}
	for _, in := range []string{"-1", "x"} {
		_, err := ParseTail(in)
		wantInvalid(t, in, err, "want a number of lines")
	}
}
