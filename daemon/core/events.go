package core

import (
	"context"
	"slices"
	"strconv"
	"sync"

	"go.uber.org/zap"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/daemon/auth"
	"nucleus.dev/nucleus/daemon/store"
)

// eventBus publishes events through the store: every event is appended
// (and so numbered and kept) before subscribers hear of it, and every
// subscriber reads from the store, so a slow or reconnecting subscriber
// misses nothing that is still retained.
type eventBus struct {
	store *store.Store
	mu    sync.Mutex
	wake  chan struct{} // closed and replaced on every publish
}

func newEventBus(s *store.Store) *eventBus {
	return &eventBus{store: s, wake: make(chan struct{})}
}

func (b *eventBus) publish(ev *nucleusv1.Event) error {
	if _, err := b.store.AppendEvent(ev); err != nil {
		return err
	}
	b.notify()
	return nil
}

// notify wakes the subscribers after events were stored (by publish, or
// in the transaction of the record change that caused them).
func (b *eventBus) notify() {
	b.mu.Lock()
	close(b.wake)
	b.wake = make(chan struct{})
	b.mu.Unlock()
}

func (b *eventBus) waiter() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.wake
}

// EventFilter selects events for a subscriber.
type EventFilter struct {
	// Since is the last sequence the subscriber saw; nil means live events
	// only.
	Since       *uint64
	ContainerID []string
	Types       []nucleusv1.EventType
	// Visible says whether the caller may see an event's container.
	Visible func(ev *nucleusv1.Event) bool
}

func (f EventFilter) match(ev *nucleusv1.Event) bool {
	if len(f.ContainerID) > 0 && !slices.Contains(f.ContainerID, ev.GetContainerId()) && !slices.Contains(f.ContainerID, ev.GetContainerName()) {
		return false
	}
	if len(f.Types) > 0 && !slices.Contains(f.Types, ev.GetType()) {
		return false
	}
	return f.Visible == nil || f.Visible(ev)
}

// subscribe streams events matching f to emit until ctx ends or emit fails.
// lost is true on the first call when events after Since were pruned.
func (b *eventBus) subscribe(ctx context.Context, f EventFilter, emit func(ev *nucleusv1.Event, lost bool) error) error {
	oldest, newest, err := b.store.EventRange()
	if err != nil {
		return err
	}
	last, lost := replayStart(f.Since, oldest, newest)
	for {
		wake := b.waiter()
		evs, err := b.store.EventsSince(last, 256)
		if err != nil {
			return err
		}
		for _, ev := range evs {
			last = ev.GetSequence()
			if !f.match(ev) {
				continue
			}
			if err := emit(ev, lost); err != nil {
				return err
			}
			lost = false
		}
		if len(evs) == 256 {
			continue
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wake:
		}
	}
}

// publish records an event for c; a failure to record is logged, never
// fatal to the operation that caused it.
func (d *Daemon) publish(typ nucleusv1.EventType, c *store.Container, msg string, exitCode int32, attrs map[string]string) {
	if err := d.events.publish(d.event(typ, c, msg, exitCode, attrs)); err != nil {
		d.log.Error("recording event", zap.String("type", typ.String()), zap.Error(err))
	}
}

// event builds the event publish records; callers that store it with the
// record change it announces (store.UpdateContainer's events) call
// d.events.notify() after the commit.
func (d *Daemon) event(typ nucleusv1.EventType, c *store.Container, msg string, exitCode int32, attrs map[string]string) *nucleusv1.Event {
	ev := &nucleusv1.Event{Type: typ, Message: msg, ExitCode: exitCode, Attributes: map[string]string{}}
	for k, v := range attrs {
		ev.Attributes[k] = v
	}
	if c != nil {
		ev.ContainerId, ev.ContainerName = c.ID, c.Name
		ev.Attributes[ownerAttr] = strconv.FormatUint(uint64(c.OwnerUID), 10)
	}
	return ev
}

// ownerAttr is the event attribute naming the container owner's uid, by
// which non-admin subscribers see only their own containers' events.
const ownerAttr = "owner_uid"

// EventVisible returns the filter that shows caller only what it may see.
func (d *Daemon) EventVisible(caller auth.Identity) func(*nucleusv1.Event) bool {
	if caller.Admin {
		return nil
	}
	return d.EventVisibleUID(caller.UID)
}

// EventVisibleUID shows only the events of containers uid owns.
func (d *Daemon) EventVisibleUID(uid int) func(*nucleusv1.Event) bool {
	owner := strconv.Itoa(uid)
	return func(ev *nucleusv1.Event) bool { return ev.GetAttributes()[ownerAttr] == owner }
}

// Events streams events to emit; see EventFilter.
func (d *Daemon) Events(ctx context.Context, f EventFilter, emit func(ev *nucleusv1.Event, lost bool) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-d.ctx.Done():
			cancel()
		case <-ctx.Done():
		}
	}()
	return d.events.subscribe(ctx, f, emit)
}
