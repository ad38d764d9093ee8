package store

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/internal/errdefs"
)

func appendN(t *testing.T, s *Store, n int) []uint64 {
	t.Helper()
	var seqs []uint64
	for range n {
		seq, err := s.AppendEvent(&nucleusv1.Event{Type: nucleusv1.EventType_EVENT_TYPE_STARTED, ContainerId: testID(0)})
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, seq)
	}
	return seqs
}

func TestEventsPruneKeepsLastN(t *testing.T) {
	s := openTest(t, "", Options{EventsRetained: 10})
	appendN(t, s, 25)
	evs, err := s.EventsSince(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 10 || evs[0].Sequence != 16 || evs[9].Sequence != 25 {
		t.Fatalf("retained %d events, %v..., want 16..25", len(evs), evs[0].GetSequence())
	}
	if evs[0].Time == nil || evs[0].ContainerId != testID(0) {
		t.Errorf("event lost its content: %v", evs[0])
	}
	oldest, last, err := s.EventRange()
	if err != nil || oldest != 16 || last != 25 {
		t.Errorf("EventRange() = %d, %d, %v; want 16, 25", oldest, last, err)
	}
	if evs, _ := s.EventsSince(20, 3); len(evs) != 3 || evs[0].Sequence != 21 {
		t.Errorf("EventsSince(20, 3) = %v", evs)
	}
	if evs, _ := s.EventsSince(25, 0); len(evs) != 0 {
		t.Errorf("EventsSince(last) = %v, want none", evs)
	}
}

func TestSequencesMonotonicAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nucleus.db")
	s, err := Open(path, Options{EventsRetained: 2})
	if err != nil {
		t.Fatal(err)
	}
	if last, _ := s.LastSequence(); last != 0 {
		t.Errorf("LastSequence of a new store = %d, want 0", last)
	}
	first := appendN(t, s, 5)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, path, Options{EventsRetained: 2})
	if last, _ := s.LastSequence(); last != first[4] {
		t.Errorf("LastSequence after reopen = %d, want %d", last, first[4])
	}
	all := append(first, appendN(t, s, 5)...)
	for i := 1; i < len(all); i++ {
		if all[i] <= all[i-1] {
			t.Fatalf("sequences not strictly increasing: %v", all)
		}
	}
}

// TestEventsCommitWithTheirRecord: events given to UpdateContainer and
// DeleteContainer are stored in the same transaction as the change, in
// order and numbered after the events before them; a change that fails
// stores none of them.
func TestEventsCommitWithTheirRecord(t *testing.T) {
	s := openTest(t, "", Options{EventsRetained: 100})
	appendN(t, s, 2)
	c := testContainer(0, "web")
	if err := s.CreateContainer(c); err != nil {
		t.Fatal(err)
	}
	ev := func(typ nucleusv1.EventType) *nucleusv1.Event {
		return &nucleusv1.Event{Type: typ, ContainerId: c.ID}
	}
	if _, err := s.UpdateContainer(c.ID, func(r *Container) error {
		r.State = nucleusv1.ContainerState_CONTAINER_STATE_RUNNING
		return nil
	}, ev(nucleusv1.EventType_EVENT_TYPE_CREATED), ev(nucleusv1.EventType_EVENT_TYPE_STARTED)); err != nil {
		t.Fatal(err)
	}
	// A failing change keeps neither the record change nor the events.
	if _, err := s.UpdateContainer(c.ID, func(r *Container) error {
		r.State = nucleusv1.ContainerState_CONTAINER_STATE_EXITED
		return errdefs.FailedPrecondition("no")
	}, ev(nucleusv1.EventType_EVENT_TYPE_EXITED)); err == nil {
		t.Fatal("a failing update succeeded")
	}
	if err := s.DeleteContainer(testID(7), ev(nucleusv1.EventType_EVENT_TYPE_DELETED)); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("deleting an unknown record: %v", err)
	}
	if err := s.DeleteContainer(c.ID, ev(nucleusv1.EventType_EVENT_TYPE_DELETED)); err != nil {
		t.Fatal(err)
	}
	evs, err := s.EventsSince(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i, e := range evs {
		if e.GetSequence() != uint64(i+1) || e.GetTime() == nil {
			t.Errorf("event %d: sequence %d, time %v", i, e.GetSequence(), e.GetTime())
		}
		got = append(got, e.GetType().String())
	}
	want := "EVENT_TYPE_STARTED EVENT_TYPE_STARTED EVENT_TYPE_CREATED EVENT_TYPE_STARTED EVENT_TYPE_DELETED"
	if strings.Join(got, " ") != want {
		t.Fatalf("events %v\nwant %s", got, want)
	}
	if _, last, _ := s.EventRange(); last != 5 {
		t.Fatalf("last sequence %d, want 5", last)
	}
}
