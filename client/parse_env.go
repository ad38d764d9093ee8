package client

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"

	"nucleus.dev/nucleus/internal/errdefs"
)

// LookupEnv finds a variable of the caller's environment (os.LookupEnv).
type LookupEnv func(key string) (string, bool)

// ParseEnv reads -e values as docker does: "K=V" is kept as is; a bare "K"
// takes K's value from lookup, and is dropped when K is not set there.
func ParseEnv(values []string, lookup LookupEnv) ([]string, error) {
	var env []string
	for _, v := range values {
		key, _, hasValue := strings.Cut(v, "=")
		if key == "" || strings.ContainsAny(key, " \t") {
			return nil, errdefs.InvalidArgument("invalid environment variable %q: want KEY=VALUE or KEY", v)
		}
		if hasValue {
			env = append(env, v)
		} else if val, ok := lookup(key); ok {
			env = append(env, key+"="+val)
		}
	}
	return env, nil
}

// ReadEnvFile reads a docker --env-file; see ParseEnvFile.
func ReadEnvFile(path string, lookup LookupEnv) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, errdefs.InvalidArgument("env file: %v", err)
	}
	defer f.Close()
	return ParseEnvFile(f, path, lookup)
}

// ParseEnvFile reads docker's env-file format: one KEY=VALUE per line, the
// value taken verbatim (no quotes or trimming); leading whitespace, blank
// lines and lines starting with # are skipped; a bare KEY takes its value
// from lookup and is dropped when unset. name labels errors.
func ParseEnvFile(r io.Reader, name string, lookup LookupEnv) ([]string, error) {
	var env []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		b := sc.Bytes()
		if n == 1 {
			b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")) // UTF-8 BOM
		}
		if !utf8.Valid(b) {
			return nil, errdefs.InvalidArgument("env file %s line %d: invalid UTF-8", name, n)
		}
		line := strings.TrimLeftFunc(string(b), unicode.IsSpace)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, val, hasValue := strings.Cut(line, "=")
		if key == "" {
			return nil, errdefs.InvalidArgument("env file %s line %d: no variable name", name, n)
		}
		if !hasValue {
			key = strings.TrimRightFunc(key, unicode.IsSpace)
		}
		if strings.ContainsFunc(key, unicode.IsSpace) {
			return nil, errdefs.InvalidArgument("env file %s line %d: variable %q contains whitespace", name, n, key)
		}
		if hasValue {
			env = append(env, key+"="+val)
		} else if v, ok := lookup(key); ok {
			env = append(env, key+"="+v)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, errdefs.InvalidArgument("env file %s: %v", name, err)
	}
	return env, nil
}
