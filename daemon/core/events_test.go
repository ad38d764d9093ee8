package core

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/daemon/store"
)

func openBus(t *testing.T, retained int) *eventBus {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "db"), store.Options{EventsRetained: retained})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return newEventBus(st)
}

func publishN(t *testing.T, b *eventBus, id string, n int) {
	t.Helper()
	for range n {
		if err := b.publish(&nucleusv1.Event{Type: nucleusv1.EventType_EVENT_TYPE_CREATED, ContainerId: id}); err != nil {
			t.Fatal(err)
		}
	}
}

// collect subscribes with f and returns the first n events (and lost flags).
func collect(t *testing.T, b *eventBus, f EventFilter, n int, during func()) ([]*nucleusv1.Event, []bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var evs []*nucleusv1.Event
	var lost []bool
	started := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		close(started)
		done <- b.subscribe(ctx, f, func(ev *nucleusv1.Event, l bool) error {
			evs = append(evs, ev)
			lost = append(lost, l)
			if len(evs) == n {
				cancel()
			}
			return nil
		})
	}()
	<-started
	if during != nil {
		time.Sleep(50 * time.Millisecond)
		during()
	}
	<-done
	if len(evs) != n {
		t.Fatalf("got %d events, want %d", len(evs), n)
	}
	return evs, lost
}

func TestEventsReplayThenLiveInOrder(t *testing.T) {
	b := openBus(t, 100)
	publishN(t, b, "a", 3)
	since := uint64(0)
	evs, lost := collect(t, b, EventFilter{Since: &since}, 6, func() { publishN(t, b, "a", 3) })
	for i, ev := range evs {
		if ev.GetSequence() != uint64(i+1) || lost[i] {
			t.Fatalf("event %d: seq %d lost %v", i, ev.GetSequence(), lost[i])
		}
	}
}

func TestEventsLiveOnlySkipsHistory(t *testing.T) {
	b := openBus(t, 100)
	publishN(t, b, "a", 5)
	evs, _ := collect(t, b, EventFilter{}, 1, func() { publishN(t, b, "b", 1) })
	if evs[0].GetSequence() != 6 || evs[0].GetContainerId() != "b" {
		t.Fatalf("live subscriber got %v, want only the new event", evs[0])
	}
}

func TestEventsPrunedReportLost(t *testing.T) {
	b := openBus(t, 5)
	publishN(t, b, "a", 20)
	since := uint64(2)
	evs, lost := collect(t, b, EventFilter{Since: &since}, 5, nil)
	if evs[0].GetSequence() != 16 || !lost[0] || lost[1] {
		t.Fatalf("first resumed event seq %d lost %v; want seq 16 flagged lost once", evs[0].GetSequence(), lost)
	}
}

func TestEventsFilterAndVisibility(t *testing.T) {
	b := openBus(t, 100)
	for _, ev := range []*nucleusv1.Event{
		{Type: nucleusv1.EventType_EVENT_TYPE_CREATED, ContainerId: "a", Attributes: map[string]string{ownerAttr: "1"}},
		{Type: nucleusv1.EventType_EVENT_TYPE_EXITED, ContainerId: "a", Attributes: map[string]string{ownerAttr: "1"}},
		{Type: nucleusv1.EventType_EVENT_TYPE_EXITED, ContainerId: "b", Attributes: map[string]string{ownerAttr: "2"}},
		{Type: nucleusv1.EventType_EVENT_TYPE_EXITED, ContainerId: "c", ContainerName: "named", Attributes: map[string]string{ownerAttr: "1"}},
	} {
		if err := b.publish(ev); err != nil {
			t.Fatal(err)
		}
	}
	since := uint64(0)
	d := &Daemon{}
	vis := d.EventVisibleUID(1)
	evs, _ := collect(t, b, EventFilter{Since: &since, Types: []nucleusv1.EventType{nucleusv1.EventType_EVENT_TYPE_EXITED}, Visible: vis}, 2, nil)
	if evs[0].GetContainerId() != "a" || evs[1].GetContainerId() != "c" {
		t.Fatalf("uid 1 saw %v, want a's and c's exits only", evs)
	}
	evs, _ = collect(t, b, EventFilter{Since: &since, ContainerID: []string{"named"}}, 1, nil)
	if evs[0].GetContainerId() != "c" {
		t.Fatalf("filter by name got %v", evs[0])
	}
}

func TestKeyedMutexSerialisesPerKey(t *testing.T) {
	var k keyedMutex
	unlock := k.lock("a")
	got := make(chan string, 2)
	go func() { u := k.lock("a"); got <- "a"; u() }()
	go func() { u := k.lock("b"); got <- "b"; u() }()
	if first := <-got; first != "b" {
		t.Fatalf("key b waited for key a's lock")
	}
	select {
	case <-got:
		t.Fatal("a second holder of key a got in")
	case <-time.After(50 * time.Millisecond):
	}
	unlock()
	if <-got != "a" {
		t.Fatal("key a never got its turn")
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		k.mu.Lock()
		n := len(k.locks)
		k.mu.Unlock()
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d lock entries left", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
