// Package images is Nucleus's image store: it pulls images from registries
// (with go-containerregistry), imports OCI layout and docker-save tars, keeps
// their blobs in a verified content store, and unpacks each image once into a
// read-only tree that every container of that image shares.
//
// Layout under the root given to Open (the daemon passes <root>/images):
//
//	blobs/sha256/<hex>     verified blobs: manifests, configs, compressed layers
//	rootfs/<hex>/          the unpacked tree of the image whose manifest is <hex>
//	tmp/                   downloads and unpacks in progress; emptied by Open
//
// A blob is written to tmp/, hashed and counted while it streams, fsync'd and
// renamed into blobs/ only when its sha256 and size match the digest that
// named it. An image is unpacked into tmp/ and renamed to rootfs/<hex>, and
// only then is its Record stored: the record is the commit point, so a crash
// at any moment leaves either the whole image or nothing visible, and Open
// removes what no record references.
//
// Layers are unpacked by a streaming extractor that resolves every path
// inside the target with openat2(RESOLVE_IN_ROOT), so no entry (../, an
// absolute path, a symlink planted by an earlier entry or layer) can reach
// outside it; devices and FIFOs are skipped and counted, hardlinks must name
// files inside the tree, xattrs are limited to a safe set, and the Policy's
// caps on bytes and files stop a bomb while it streams.
//
// One tree per image (not per layer chain): gVisor's rootfs overlay takes
// one lower directory, and it needs no host overlay mounts. The tree keeps
// the image's own owners; the bundle package id-maps it onto each
// container's user namespace.
//
// The API the daemon uses: Open (at start), Pull and Import (with
// Progress reports), Get/List, RootFS, ResolveUser (USER name → ids from
// the image's own /etc/passwd and /etc/group), Remove and Prune (with the
// daemon's UsageFunc), NormalizeRef and RegistryOf. Policy is the
// [images] config.
//
// The package never imports daemon/ or api/: records are kept through the
// Records interface (the daemon's bbolt store implements it), callers are
// described by Caller, and errors carry internal/errdefs kinds.
package images
