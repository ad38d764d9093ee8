package core

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/internal/errdefs"
)

// A subscriber that stops reading is dropped with ResourceExhausted and a
// resume hint once its queue is full; publishing never waits for it, and a
// subscriber that keeps up gets every event.
func TestEventsSlowSubscriberDropped(t *testing.T) {
	b := openBus(t, 10000)
	b.buffer = 64 // more than are published while the stuck sender holds the send slot (sendSlotHold)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	block := make(chan struct{})
	slow := make(chan error, 1)
	registered := make(chan struct{}, 2)
	go func() {
		slow <- b.subscribe(ctx, EventFilter{Registered: func(uint64) error { registered <- struct{}{}; return nil }},
			func(*nucleusv1.Event, bool) error { <-block; return nil })
	}()
	var fast []uint64
	fastDone := make(chan error, 1)
	go func() {
		fastDone <- b.subscribe(ctx, EventFilter{Registered: func(uint64) error { registered <- struct{}{}; return nil }},
			func(ev *nucleusv1.Event, _ bool) error {
				fast = append(fast, ev.GetSequence())
				if len(fast) == 200 {
					return errors.New("enough")
				}
				return nil
			})
	}()
	<-registered
	<-registered
	start := time.Now()
	publishN(t, b, "a", 200)
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("publishing 200 events took %v with a stuck subscriber", d)
	}
	close(block)
	err := <-slow
	if !errors.Is(err, errdefs.ErrResourceExhausted) || !strings.Contains(err.Error(), "resubscribe with since_sequence=") {
		t.Fatalf("slow subscriber ended with %v, want ResourceExhausted with a resume hint", err)
	}
	if err := <-fastDone; err == nil || err.Error() != "enough" {
		t.Fatalf("fast subscriber: %v", err)
	}
	for i, seq := range fast {
		if seq != uint64(i+1) {
			t.Fatalf("fast subscriber got %v, want 1..200 in order", fast)
		}
	}
	if n := b.subscribers(); n != 0 {
		t.Fatalf("%d subscribers left registered", n)
	}
}

// Events committed with a record change whose notify comes late (or out of
// order) still reach subscribers in sequence order, read from the store.
func TestEventsGapFilledInOrder(t *testing.T) {
	b := openBus(t, 100)
	evs, _ := collect(t, b, EventFilter{}, 3, func() {
		e1 := &nucleusv1.Event{ContainerId: "a"}
		e2 := &nucleusv1.Event{ContainerId: "b"}
		e3 := &nucleusv1.Event{ContainerId: "c"}
		for _, e := range []*nucleusv1.Event{e1, e2, e3} {
			if _, err := b.store.AppendEvent(e); err != nil {
				t.Fatal(err)
			}
		}
		b.notify(e3)
		b.notify(e1) // late: delivered already
	})
	for i, ev := range evs {
		if ev.GetSequence() != uint64(i+1) {
			t.Fatalf("got %v, want sequences 1, 2, 3", evs)
		}
	}
}

// Registered runs before any event with the sequence after which every
// event is delivered.
func TestEventsRegisteredReportsLatest(t *testing.T) {
	b := openBus(t, 100)
	publishN(t, b, "a", 4)
	var latest uint64
	var got []uint64
	_, _ = collect(t, b, EventFilter{Registered: func(l uint64) error {
		if len(got) > 0 {
			t.Error("Registered ran after an event")
		}
		latest = l
		return nil
	}}, 1, func() { publishN(t, b, "a", 1) })
	if latest != 4 {
		t.Fatalf("Registered saw latest %d, want 4", latest)
	}
}
