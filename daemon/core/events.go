package core

import (
	"context"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"

	"go.uber.org/zap"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
	"nucleus.dev/nucleus/daemon/auth"
	"nucleus.dev/nucleus/daemon/store"
)

// defaultSubscriberBuffer is how many events a subscriber may have queued
// before it is dropped, unless [limits] events_subscriber_buffer says
// otherwise.
const defaultSubscriberBuffer = 1024

// eventBus publishes events: every event is appended to the store (and so
// numbered and kept) before subscribers hear of it. Once committed, the
// event itself is handed to each subscriber whose filter it matches, in
// sequence order, through a bounded queue: the committing path never
// blocks on a subscriber and reads the store only to fill a gap (a commit
// whose notify has not come yet). A subscriber replaying history reads the
// store itself, once, before it drains its queue.
type eventBus struct {
	store  *store.Store
	buffer int // per-subscriber queue bound
	// slots bounds the subscribers sending at once (GOMAXPROCS-1, at
	// least 1): an event for 10,000 subscribers would otherwise make 10,000
	// goroutines runnable together, and every other call (root's ps) would
	// queue behind all of them. With 10,000 subscribers on 2 cores, root's
	// ps p99 was 108-240 ms with 2 slots, 66-70 ms with 1.
	slots chan struct{}

	mu   sync.Mutex
	last uint64 // the newest sequence handed to subscribers
	subs map[*subscriber]struct{}
}

func newEventBus(s *store.Store) *eventBus {
	last, _ := s.LastSequence()
	return &eventBus{store: s, buffer: defaultSubscriberBuffer, last: last, subs: map[*subscriber]struct{}{},
		slots: make(chan struct{}, max(1, runtime.GOMAXPROCS(0)-1))}
}

func (b *eventBus) publish(ev *nucleusv1.Event) error {
	if _, err := b.store.AppendEvent(ev); err != nil {
		return err
	}
	b.notify(ev)
	return nil
}

// notify hands committed events to the subscribers (after publish, or after
// the transaction of the record change that caused them). Events at or
// below the last one handed out were delivered already (a gap filled from
// the store); a gap before evs is filled from the store first.
func (b *eventBus) notify(evs ...*nucleusv1.Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for len(evs) > 0 && evs[0].GetSequence() <= b.last {
		evs = evs[1:]
	}
	if len(evs) == 0 {
		return
	}
	if evs[0].GetSequence() != b.last+1 {
		// An earlier commit has not notified yet: every sequence below a
		// committed one is committed, so the store has them.
		missing, err := b.store.EventsSince(b.last, int(evs[0].GetSequence()-b.last-1))
		if err == nil {
			evs = append(missing, evs...)
		}
	}
	for _, ev := range evs {
		if ev.GetSequence() <= b.last {
			continue
		}
		b.last = ev.GetSequence()
		for s := range b.subs {
			if !s.filter.match(ev) {
				continue
			}
			if !s.push(ev, b.buffer) {
				delete(b.subs, s)
			}
		}
	}
}

// register adds a subscriber that hears every event after the returned
// sequence.
func (b *eventBus) register(f EventFilter) (*subscriber, uint64) {
	s := &subscriber{filter: f, wake: make(chan struct{}, 1)}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.subs[s] = struct{}{}
	s.sent = b.last
	if f.Since != nil {
		s.sent = min(*f.Since, b.last)
	}
	return s, b.last
}

func (b *eventBus) unregister(s *subscriber) {
	b.mu.Lock()
	delete(b.subs, s)
	b.mu.Unlock()
}

// subscribers is how many subscriptions are open (tests, diagnostics).
func (b *eventBus) subscribers() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs)
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
	// Registered, when set, is called once the subscription is in place,
	// before any event, with the sequence after which every event will be
	// delivered (the Events call sends its response headers there).
	Registered func(latest uint64) error
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

// subscribe streams events matching f to emit until ctx ends, emit fails or
// the subscriber falls too far behind (ResourceExhausted). lost is true on
// the first call when events after Since were pruned.
func (b *eventBus) subscribe(ctx context.Context, f EventFilter, emit func(ev *nucleusv1.Event, lost bool) error) error {
	s, latest := b.register(f)
	defer b.unregister(s)
	if f.Registered != nil {
		if err := f.Registered(latest); err != nil {
			return err
		}
	}
	last := latest
	if f.Since != nil {
		var err error
		if last, err = b.replay(ctx, s, f, latest, func(ev *nucleusv1.Event, lost bool) error {
			if err := s.droppedErr(); err != nil {
				return err
			}
			if err := emit(ev, lost); err != nil {
				return err
			}
			s.delivered(ev.GetSequence())
			return nil
		}); err != nil {
			return err
		}
	}
	for {
		evs, err := s.take()
		if err != nil {
			return err
		}
		if len(evs) > 0 {
			if err := b.send(ctx, s, evs, last, emit); err != nil {
				return err
			}
			continue
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.wake:
		}
	}
}

// sendSlotHold is the longest a sender keeps its slot: a Send blocked by a
// client that does not read gives it up after this.
const sendSlotHold = 10 * time.Millisecond

// send emits the events after last holding one of the bus's send slots.
func (b *eventBus) send(ctx context.Context, s *subscriber, evs []*nucleusv1.Event, last uint64, emit func(ev *nucleusv1.Event, lost bool) error) error {
	select {
	case b.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	var once sync.Once
	release := func() { once.Do(func() { <-b.slots }) }
	timer := time.AfterFunc(sendSlotHold, release)
	defer func() { timer.Stop(); release() }()
	for _, ev := range evs {
		if ev.GetSequence() <= last {
			continue // replayed from the store already
		}
		if err := emit(ev, false); err != nil {
			return err
		}
		s.delivered(ev.GetSequence())
	}
	return nil
}

// replay emits the retained events after *f.Since up to latest (the rest
// arrive through the subscriber's queue) and returns the last sequence
// emitted or skipped.
func (b *eventBus) replay(ctx context.Context, s *subscriber, f EventFilter, latest uint64, emit func(ev *nucleusv1.Event, lost bool) error) (uint64, error) {
	oldest, _, err := b.store.EventRange()
	if err != nil {
		return 0, err
	}
	// A since at or beyond latest (up to MaxUint64) replays nothing.
	last, lost := replayStart(f.Since, oldest, latest)
	for last < latest {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		if err := s.droppedErr(); err != nil {
			return 0, err
		}
		evs, err := b.store.EventsSince(last, 256)
		if err != nil {
			return 0, err
		}
		if len(evs) == 0 {
			break
		}
		for _, ev := range evs {
			if ev.GetSequence() > latest {
				return latest, nil
			}
			last = ev.GetSequence()
			if !f.match(ev) {
				continue
			}
			if err := emit(ev, lost); err != nil {
				return 0, err
			}
			lost = false
		}
	}
	return max(last, latest), nil
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
// d.events.notify with it after the commit.
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

// LatestEventSeq is the sequence of the newest event committed (0 before
// the first).
func (d *Daemon) LatestEventSeq() (uint64, error) { return d.store.LastSequence() }
