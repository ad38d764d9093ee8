package images

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"

	"nucleus.dev/nucleus/internal/errdefs"
)

// commit stores src's blobs, unpacks it and stores its record — the
// record last, so a crash before it leaves nothing visible.
func (s *Store) commit(ctx context.Context, src *imageSource, caller Caller, progress ProgressFunc) (rec *Record, err error) {
	if s.haveImage(src.digest) {
		rec, err := s.addRefs(src.digest, src.refs)
		if err == nil {
			progress.reportCached(rec)
		}
		return rec, err
	}
	unpin := s.pin(src)
	defer func() {
		unpin()
		if err != nil {
			s.dropUnreferenced(src) // a failed image leaves nothing behind
		}
	}()
	if err := s.fetchLayers(ctx, src, progress); err != nil {
		return nil, err
	}
	if _, err := s.writeBlob(string(src.parsed.Config.Digest), int64(len(src.config)), 0, bytes.NewReader(src.config), nil); err != nil {
		return nil, err
	}
	if _, err := s.writeBlob(src.digest, int64(len(src.manifest)), 0, bytes.NewReader(src.manifest), nil); err != nil {
		return nil, err
	}
	// One unpack and one record per manifest, however many callers race.
	v, err, _ := s.unpacks.Do(src.digest, func() (any, error) {
		if rec, err := s.recs.Get(src.digest); err == nil {
			if _, err := os.Lstat(s.RootFS(rec)); err == nil {
				return rec, nil
			}
		}
		rec := s.newRecord(src, caller)
		u, err := s.unpackImage(ctx, rec, progress)
		if err != nil {
			return nil, err
		}
		rec.UnpackedSize, rec.Skipped = u.size, u.skipped
		s.mu.Lock()
		defer s.mu.Unlock()
		if old, err := s.recs.Get(rec.Digest); err == nil {
			rec.PulledBy, rec.References = old.PulledBy, mergeRefs(old.References, rec.References)
		}
		if err := s.recs.Put(rec); err != nil {
			return nil, fmt.Errorf("images: store record: %w", err)
		}
		return rec, nil
	})
	if err != nil {
		return nil, err
	}
	rec, err = s.addRefs(v.(*Record).Digest, src.refs)
	if err != nil {
		return nil, err
	}
	progress.report(Progress{Phase: PhaseDone})
	return rec, nil
}

func (s *Store) newRecord(src *imageSource, caller Caller) *Record {
	rec := &Record{
		Digest:       src.digest,
		References:   slices.Clone(src.refs),
		Config:       src.image.Config,
		ConfigDigest: string(src.parsed.Config.Digest),
		Stored:       time.Now().UTC(),
		PulledBy:     caller.UID,
	}
	if src.image.Created != nil {
		rec.Created = src.image.Created.UTC()
	}
	for i, l := range src.parsed.Layers {
		rec.Layers = append(rec.Layers, LayerInfo{Digest: string(l.Digest), Size: l.Size, DiffID: string(src.image.RootFS.DiffIDs[i]), MediaType: l.MediaType})
		rec.CompressedSize += l.Size
	}
	return rec
}

// fetchLayers stores every layer blob not yet stored, Parallel at a time,
// one download per digest however many pulls want it.
func (s *Store) fetchLayers(ctx context.Context, src *imageSource, progress ProgressFunc) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(s.pol.Parallel)
	for _, l := range src.layers {
		d := l.desc
		g.Go(func() error {
			if s.hasBlob(string(d.Digest)) {
				progress.report(Progress{Layer: string(d.Digest), Phase: PhaseExists, Done: d.Size, Total: d.Size})
				return nil
			}
			_, err, _ := s.blobs.Do(string(d.Digest), func() (any, error) {
				return nil, s.fetchLayer(ctx, l, progress)
			})
			return err
		})
	}
	return g.Wait()
}

func (s *Store) fetchLayer(ctx context.Context, l layerSource, progress ProgressFunc) error {
	d := l.desc
	rc, err := l.open(ctx)
	if err != nil {
		return fmt.Errorf("layer %s: %w", short(string(d.Digest)), err)
	}
	defer rc.Close()
	var done int64
	counted := func(n int64) {
		done += n
		progress.report(Progress{Layer: string(d.Digest), Phase: PhaseDownloading, Done: done, Total: d.Size})
	}
	if _, err := s.writeBlob(string(d.Digest), d.Size, 0, ctxReader{ctx, rc}, counted); err != nil {
		return fmt.Errorf("layer %s: %w", short(string(d.Digest)), err)
	}
	progress.report(Progress{Layer: string(d.Digest), Phase: PhaseVerified, Done: d.Size, Total: d.Size})
	return nil
}

type unpacked struct {
	size    int64
	skipped Skipped
}

// unpackImage unpacks rec's layers into tmp/ and renames the tree to its
// place; a tree already there (an earlier crash after the rename) is
// replaced, as no record vouches for it.
func (s *Store) unpackImage(ctx context.Context, rec *Record, progress ProgressFunc) (unpacked, error) {
	dir, err := os.MkdirTemp(s.tmpDir(), "unpack-")
	if err != nil {
		return unpacked{}, fmt.Errorf("images: %w", err)
	}
	defer os.RemoveAll(dir)
	// An image's "/" is 0755 unless a layer says otherwise (as docker).
	if err := os.Chmod(dir, 0o755); err != nil {
		return unpacked{}, err
	}
	u, err := newUnpacker(dir, s.pol)
	if err != nil {
		return unpacked{}, err
	}
	defer u.close()
	for _, l := range rec.Layers {
		if err := ctx.Err(); err != nil {
			return unpacked{}, ctxErr(err)
		}
		var done int64
		u.progress = func(n int64) {
			done += n
			progress.report(Progress{Layer: l.Digest, Phase: PhaseUnpacking, Done: done})
		}
		if err := s.unpackLayer(ctx, u, l); err != nil {
			return unpacked{}, err
		}
	}
	if err := makeMountPoints(dir, s.pol.MountPoints); err != nil {
		return unpacked{}, err
	}
	final := s.RootFS(rec)
	if err := os.RemoveAll(final); err != nil {
		return unpacked{}, err
	}
	if err := syncDir(dir); err != nil {
		return unpacked{}, err
	}
	if err := os.Rename(dir, final); err != nil {
		return unpacked{}, fmt.Errorf("images: place tree: %w", err)
	}
	return unpacked{size: u.written, skipped: u.skipped}, syncDir(s.rootfsDir())
}

func (s *Store) unpackLayer(ctx context.Context, u *unpacker, l LayerInfo) error {
	f, err := os.Open(s.blobPath(l.Digest))
	if err != nil {
		return fmt.Errorf("layer %s: %w", short(l.Digest), err)
	}
	defer f.Close()
	vr := newVerifyingReader(ctxReader{ctx, f}, l.Digest)
	if err := u.layer(vr, l.DiffID); err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, vr)
	return err
}

// ctxReader stops a copy when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, ctxErr(err)
	}
	return c.r.Read(p)
}

func ctxErr(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("image pull timed out: %w", errdefs.ErrDeadlineExceeded)
	}
	return err
}
