package core

import (
	"fmt"
	"sync"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/daemon/store"
)

// containersField is ListResponse.containers' field number.
const containersField protowire.Number = 1

// wireCache keeps each record's API form (toAPI) already encoded as one
// entry of ListResponse.containers, so that List copies bytes instead of
// converting and encoding every record on every call (at 200 records that
// encoding was a quarter of a List's time). An entry is valid while the
// store hands out the same decoded record: its decode cache returns one
// read-only *store.Container per stored version, so a changed record comes
// back as a new pointer and is encoded again.
type wireCache struct {
	mu      sync.Mutex
	entries map[string]wireEntry
}

// wireEntry is one record's encodings, each made when first asked for.
type wireEntry struct {
	rec           *store.Container
	full, summary []byte
}

// wire returns the encoded entries of recs, in order: each record whole,
// or its summary (see summarize). The result is allocated once, at its
// final size: grown by appending, a List at 200 records allocated four
// times the bytes it sent and spent most of its time in those copies.
func (w *wireCache) wire(recs []*store.Container, summary bool) ([]byte, error) {
	b, _, err := w.page(recs, summary, len(recs), 0, nil)
	return b, err
}

// page is wire for the first records of recs that fit: at most count, and
// at most maxBytes encoded (0: no bound) unless the first record alone is
// larger. It returns how many records it encoded. Records named in
// pending (exit not recorded yet: why) are encoded afresh with
// exit_pending set, never cached.
func (w *wireCache) page(recs []*store.Container, summary bool, count, maxBytes int, pending map[string]string) ([]byte, int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.entries == nil {
		w.entries = map[string]wireEntry{}
	}
	encs := make([][]byte, 0, min(count, len(recs)))
	size := 0
	for _, c := range recs {
		if len(encs) == count {
			break
		}
		if why, ok := pending[c.ID]; ok {
			enc, err := encodeEntry(withExitPending(toAPI(c), why), summary)
			if err != nil {
				return nil, 0, err
			}
			if maxBytes > 0 && len(encs) > 0 && size+len(enc) > maxBytes {
				break
			}
			encs, size = append(encs, enc), size+len(enc)
			continue
		}
		e, ok := w.entries[c.ID]
		if !ok || e.rec != c {
			e = wireEntry{rec: c}
		}
		enc := &e.full
		if summary {
			enc = &e.summary
		}
		if *enc == nil {
			data, err := encodeEntry(toAPI(c), summary)
			if err != nil {
				return nil, 0, err
			}
			*enc = data
			w.entries[c.ID] = e
		}
		if maxBytes > 0 && len(encs) > 0 && size+len(*enc) > maxBytes {
			break
		}
		encs = append(encs, *enc)
		size += len(*enc)
	}
	b := make([]byte, 0, size)
	for _, enc := range encs {
		b = append(b, enc...)
	}
	// Removed records: keep the cache within reach of what is listed.
	if len(w.entries) > 2*len(recs)+64 {
		keep := make(map[string]wireEntry, len(recs))
		for _, c := range recs {
			if e, ok := w.entries[c.ID]; ok {
				keep[c.ID] = e
			}
		}
		w.entries = keep
	}
	return b, len(encs), nil
}

// summarize is c as LIST_VIEW_SUMMARY shows it: what a listing needs, and
// of the spec only its args. c's fields are shared, not copied.
func summarize(c *nucleusv1.Container) *nucleusv1.Container {
	out := &nucleusv1.Container{
		Id: c.GetId(), Name: c.GetName(), State: c.GetState(), OwnerUid: c.GetOwnerUid(),
		CreatedAt: c.GetCreatedAt(), StartedAt: c.GetStartedAt(), FinishedAt: c.GetFinishedAt(),
		Exit: c.GetExit(), Labels: c.GetLabels(), Pid: c.GetPid(), ExitPending: c.GetExitPending(),
		IpAddress: c.GetIpAddress(), Ports: c.GetPorts(), // ps shows them
	}
	if args := c.GetSpec().GetArgs(); len(args) > 0 {
		out.Spec = &nucleusv1.ContainerSpec{Args: args}
	}
	return out
}

// encodeEntry encodes msg (or its summary) as one ListResponse.containers
// entry.
func encodeEntry(msg *nucleusv1.Container, summary bool) ([]byte, error) {
	if summary {
		msg = summarize(msg)
	}
	data, err := proto.Marshal(msg)
	if err != nil {
		return nil, fmt.Errorf("encoding container %s: %w", msg.GetId(), err)
	}
	return protowire.AppendBytes(protowire.AppendTag(nil, containersField, protowire.BytesType), data), nil
}
