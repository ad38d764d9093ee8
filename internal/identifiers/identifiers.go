// Package identifiers validates the user-facing names of containers and hook
// sets before they are used anywhere, in particular as directory names.
package identifiers

import (
	"regexp"
	"strings"

	"nucleus.dev/nucleus/internal/errdefs"
)

// MaxLength is the longest name accepted.
const MaxLength = 64

var namePattern = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$`)

// Validate returns an InvalidArgument error unless name matches
// [a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}. what names the field in the message.
func Validate(what, name string) error {
	if name == "" {
		return errdefs.InvalidArgument("%s must not be empty", what)
	}
	if len(name) > MaxLength {
		return errdefs.InvalidArgument("%s is %d characters long; at most %d are allowed", what, len(name), MaxLength)
	}
	if !namePattern.MatchString(name) {
		return errdefs.InvalidArgument("%s %q is invalid: use letters, digits, '_', '.' and '-', starting with a letter or digit", what, name)
	}
	return nil
}

// MinHexName is the length from which an all-hex name reads as a container
// id: the 12 characters of a short id.
const MinHexName = 12

// ValidateContainerName is Validate for a name a caller chooses: it also
// refuses names of MinHexName or more lowercase hex digits, which would
// read as a container id or id prefix.
func ValidateContainerName(name string) error {
	if err := Validate("name", name); err != nil {
		return err
	}
	if len(name) >= MinHexName && strings.Trim(name, "0123456789abcdef") == "" {
		return errdefs.InvalidArgument("name %q looks like a container id (%d or more hex digits); choose a name with another character", name, MinHexName)
	}
	return nil
}
