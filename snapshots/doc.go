// Package snapshots keeps the checkpoint images of gVisor sandboxes: one
// directory per snapshot under <root>/snapshots, 0700, every file 0600.
//
// A checkpoint is written into a temporary directory (.tmp-<id>) and
// renamed into place once runsc has written all of it (CommitUnsealed); a
// crash before leaves only a .tmp- directory, which Open removes, so
// nothing partial is ever listed. Seal then fsyncs every file and writes a
// manifest listing each file's size and chunk digests; the snapshot's
// digest is the sha256 of its manifest. The daemon may seal after it
// answered the checkpoint (its record says so meanwhile, and which boot
// the files belong to). Verify checks every file against the manifest
// before a restore, unless the files still carry the Signature that this
// process's seal saw.
//
// The records (owner, source spec, size, digest, runsc version) live in
// the daemon's store behind the Records interface; this package never
// imports the daemon or the API.
package snapshots
