package store

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/internal/errdefs"
)

// AppendEvent assigns ev the next sequence (and the current time when
// ev.Time is unset), stores it and prunes all but the newest
// Options.EventsRetained events, in one transaction. Sequences strictly
// increase, also across Close and Open. It returns the sequence.
func (s *Store) AppendEvent(ev *nucleusv1.Event) (uint64, error) {
	err := s.update(func(tx *bolt.Tx) error { return s.appendEvents(tx, []*nucleusv1.Event{ev}) })
	if err != nil {
		return 0, err
	}
	return ev.Sequence, nil
}

// appendEvents is AppendEvent for several events inside tx (a record's
// change and the events it causes commit together). It sets each event's
// Sequence and Time; on a failed transaction the caller discards them.
func (s *Store) appendEvents(tx *bolt.Tx, evs []*nucleusv1.Event) error {
	if len(evs) == 0 {
		return nil
	}
	meta, events := bucket(tx, bucketMeta), bucket(tx, bucketEvents)
	next, ok := getU64(meta.Get([]byte(metaNextSeq)))
	if !ok {
		return fmt.Errorf("next event sequence missing")
	}
	for _, ev := range evs {
		if ev.Time == nil {
			ev.Time = timestamppb.New(s.opts.Now())
		}
		ev.Sequence = next
		data, err := proto.Marshal(ev)
		if err != nil {
			return fmt.Errorf("encoding event: %w", err)
		}
		if err := events.Put(u64(next), data); err != nil {
			return err
		}
		next++
	}
	if err := meta.Put([]byte(metaNextSeq), u64(next)); err != nil {
		return err
	}
	return prune(events, next-1, s.opts.EventsRetained)
}

// prune deletes events older than the newest keep, given the newest
// sequence last.
func prune(events *bolt.Bucket, last uint64, keep int) error {
	if last <= uint64(keep) {
		return nil
	}
	oldestKept := last - uint64(keep) + 1
	c := events.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.First() {
		if seq, _ := getU64(k); seq >= oldestKept {
			return nil
		}
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

// EventsSince returns the retained events with a sequence above seq, oldest
// first, at most limit of them (all when limit <= 0).
func (s *Store) EventsSince(seq uint64, limit int) ([]*nucleusv1.Event, error) {
	var out []*nucleusv1.Event
	err := s.view(func(tx *bolt.Tx) error {
		c := bucket(tx, bucketEvents).Cursor()
		for k, v := c.Seek(u64(seq + 1)); k != nil && (limit <= 0 || len(out) < limit); k, v = c.Next() {
			ev := &nucleusv1.Event{}
			if err := proto.Unmarshal(v, ev); err != nil {
				return fmt.Errorf("event %x: %w", k, err)
			}
			out = append(out, ev)
		}
		return nil
	})
	return out, err
}

// LastSequence returns the sequence of the newest event ever appended (0
// before the first), whether or not it is still retained.
func (s *Store) LastSequence() (uint64, error) {
	_, last, err := s.EventRange()
	return last, err
}

// EventRange returns the oldest retained sequence (0 when none is
// retained) and the last sequence ever assigned (0 before the first). A
// subscriber resuming after seq missed events when seq+1 < oldest.
func (s *Store) EventRange() (oldest, last uint64, err error) {
	err = s.view(func(tx *bolt.Tx) error {
		next, ok := getU64(bucket(tx, bucketMeta).Get([]byte(metaNextSeq)))
		if !ok || next == 0 {
			return errdefs.FailedPrecondition("store: next event sequence missing")
		}
		last = next - 1
		if k, _ := bucket(tx, bucketEvents).Cursor().First(); k != nil {
			oldest, _ = getU64(k)
		}
		return nil
	})
	return oldest, last, err
}
