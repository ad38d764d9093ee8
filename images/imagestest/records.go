// Package imagestest holds test doubles for package images.
package imagestest

import "nucleus.dev/nucleus/images"

// Records is an in-memory images.Records.
type Records = images.MemRecords

// NewRecords returns an empty in-memory images.Records.
func NewRecords() *Records { return images.NewMemRecords() }
