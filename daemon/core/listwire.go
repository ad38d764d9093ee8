package core

import (
	"fmt"
	"sync"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

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

type wireEntry struct {
	rec  *store.Container
	wire []byte
}

// appendWire appends the encoded entries of recs, in order, to b.
func (w *wireCache) appendWire(b []byte, recs []*store.Container) ([]byte, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.entries == nil {
		w.entries = map[string]wireEntry{}
	}
	for _, c := range recs {
		e, ok := w.entries[c.ID]
		if !ok || e.rec != c {
			msg, err := proto.Marshal(toAPI(c))
			if err != nil {
				return nil, fmt.Errorf("encoding container %s: %w", c.ID, err)
			}
			wire := protowire.AppendTag(nil, containersField, protowire.BytesType)
			e = wireEntry{rec: c, wire: protowire.AppendBytes(wire, msg)}
			w.entries[c.ID] = e
		}
		b = append(b, e.wire...)
	}
	// Removed records: keep the cache within reach of what is listed.
	if len(w.entries) > 2*len(recs)+64 {
		keep := make(map[string]wireEntry, len(recs))
		for _, c := range recs {
			keep[c.ID] = w.entries[c.ID]
		}
		w.entries = keep
	}
	return b, nil
}
