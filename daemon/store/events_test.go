package store

import (
	"path/filepath"
	"testing"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
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
