package config

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"

	"nucleus.dev/nucleus/internal/errdefs"
)

// Load reads the TOML file at path over Default and validates the result.
// A missing file is an error wrapping fs.ErrNotExist; whether to fall back
// to Default is the caller's decision.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	cfg, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

// Parse decodes TOML text over Default and validates the result. The text
// must set version; unknown keys are errors.
func Parse(data []byte) (*Config, error) {
	cfg := Default()
	md, err := toml.Decode(string(data), cfg)
	if err != nil {
		return nil, decodeError(err)
	}
	if keys := md.Undecoded(); len(keys) > 0 {
		names := make([]string, len(keys))
		for i, k := range keys {
			names[i] = k.String()
		}
		sort.Strings(names)
		return nil, errdefs.InvalidArgument("unknown key(s): %s", strings.Join(names, ", "))
	}
	if !md.IsDefined("version") {
		return nil, errdefs.InvalidArgument("version: missing; the file must start with version = %d", CurrentVersion)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// decodeError turns a TOML syntax or type error into an InvalidArgument
// that keeps the line and the key the decoder reported.
func decodeError(err error) error {
	var perr toml.ParseError
	if errors.As(err, &perr) {
		msg := perr.Message
		if perr.LastKey != "" {
			msg = perr.LastKey + ": " + msg
		}
		return errdefs.InvalidArgument("line %d: %s", perr.Position.Line, msg)
	}
	return errdefs.InvalidArgument("%s", strings.TrimPrefix(err.Error(), "toml: "))
}
