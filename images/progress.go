package images

import "sync"

// Phase is the stage a pull or an import reports progress for.
type Phase string

// The phases, in the order one layer goes through them.
const (
	PhaseResolving   Phase = "resolving"   // fetching the manifest and config
	PhaseDownloading Phase = "downloading" // a layer's bytes
	PhaseExists      Phase = "exists"      // a layer already in the store
	PhaseCached      Phase = "cached"      // the whole image already stored: nothing to do for the layer
	PhaseVerified    Phase = "verified"    // a layer's digest checked, stored
	PhaseUnpacking   Phase = "unpacking"   // a layer being extracted
	PhaseDone        Phase = "done"        // the image is committed
)

// Progress is one progress report. Layer is empty for image-wide phases.
type Progress struct {
	Ref   string // the reference being pulled or imported
	Layer string // layer digest
	Phase Phase
	Done  int64 // bytes done in this phase
	Total int64 // bytes expected (0 if unknown)
}

// ProgressFunc receives reports, one at a time (never concurrently); it
// must not block for long. Nil is allowed.
type ProgressFunc func(Progress)

func (f ProgressFunc) report(p Progress) {
	if f != nil {
		f(p)
	}
}

// serialized returns f made safe to call from the parallel downloads: calls
// never overlap, so f may write to a stream.
func (f ProgressFunc) serialized() ProgressFunc {
	if f == nil {
		return nil
	}
	var mu sync.Mutex
	return func(p Progress) {
		mu.Lock()
		defer mu.Unlock()
		f(p)
	}
}

// reportCached reports every layer of rec as cached (done == total), then
// done: a pull of an image already stored streams the same per-layer
// progress as one that downloads it, so a client's display stays
// consistent.
func (f ProgressFunc) reportCached(rec *Record) {
	if f == nil || rec == nil {
		return
	}
	for _, l := range rec.Layers {
		f(Progress{Layer: l.Digest, Phase: PhaseCached, Done: l.Size, Total: l.Size})
	}
	f(Progress{Phase: PhaseDone})
}
