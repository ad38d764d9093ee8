package config

import (
	"fmt"
	"time"
)

// Duration is a time.Duration written in TOML as a Go duration string:
// "500ms", "10s", "1h30m"; "0s" (or "0") means zero.
type Duration time.Duration

// UnmarshalText parses a duration such as "10s".
func (d *Duration) UnmarshalText(text []byte) error {
	v, err := time.ParseDuration(string(text))
	if err != nil {
		return fmt.Errorf("invalid duration %q: want a number with a unit, e.g. \"10s\" or \"1h30m\"", text)
	}
	*d = Duration(v)
	return nil
}

// MarshalText renders the duration as time.Duration.String does.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// String renders the duration as time.Duration.String does.
func (d Duration) String() string { return time.Duration(d).String() }

// Std returns the value as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }
