// Package imagestest builds test images: tar layers from a list of
// entries (files, directories, symlinks, hardlinks, any header field a
// hostile layer needs), gzip'd go-containerregistry layers, and images of
// them with a runtime config. Package images's own tests and the e2e
// tests use it; it imports neither images nor the daemon, so package
// images's internal tests may import it.
package imagestest
