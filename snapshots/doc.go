// Package snapshots keeps the checkpoint images of gVisor sandboxes: one
// directory per snapshot under <root>/snapshots, 0700, every file 0600.
//
// A checkpoint is written into a temporary directory (.tmp-<id>), every
// file is fsync'd, a manifest lists each file with its size and sha256, and
// the directory is renamed into place only when complete; the snapshot's
// digest is the sha256 of its manifest. A crash mid-checkpoint leaves only
// a .tmp- directory, which Open removes, so nothing partial is ever listed.
// Verify checks every file against the manifest before a restore.
//
// The records (owner, source spec, size, digest, runsc version) live in
// the daemon's store behind the Records interface; this package never
// imports the daemon or the API.
package snapshots
