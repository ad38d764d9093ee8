// Package identifiers validates the user-facing names of containers and hook
// sets before they are used anywhere, in particular as directory names.
package identifiers

import (
	"regexp"

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
