package containerdshim

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"time"

	eventsapi "github.com/containerd/containerd/api/services/ttrpc/events/v1"
	"github.com/containerd/containerd/api/types"
	"github.com/containerd/ttrpc"
	"github.com/containerd/typeurl/v2"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Event topics, as containerd's runtime publishes them.
const (
	topicCreate      = "/tasks/create"
	topicStart       = "/tasks/start"
	topicExit        = "/tasks/exit"
	topicDelete      = "/tasks/delete"
	topicExecAdded   = "/tasks/exec-added"
	topicExecStarted = "/tasks/exec-started"
	topicPaused      = "/tasks/paused"
	topicResumed     = "/tasks/resumed"
	topicOOM         = "/tasks/oom"
)

// publishRetryFor bounds how long one event is retried while containerd is
// away (a restart): long enough for a restart, bounded so a shim whose
// containerd is gone for good still exits.
const publishRetryFor = 5 * time.Minute

// publisher forwards events to containerd's ttrpc events service, in
// order, each once: a queue drained by one goroutine that reconnects and
// retries while containerd restarts.
type publisher struct {
	address   string // containerd's ttrpc socket
	namespace string
	log       *slog.Logger
	queue     chan *types.Envelope
	drained   chan struct{}
}

func newPublisher(address, namespace string, log *slog.Logger) *publisher {
	p := &publisher{address: strings.TrimPrefix(address, "unix://"), namespace: namespace, log: log,
		queue: make(chan *types.Envelope, 1024), drained: make(chan struct{})}
	go p.run()
	return p
}

// publish queues event under topic. It never blocks on containerd.
func (p *publisher) publish(topic string, event any) {
	anyEvent, err := typeurl.MarshalAnyToProto(event)
	if err != nil {
		p.log.Error("marshal event", "topic", topic, "err", err)
		return
	}
	env := &types.Envelope{Timestamp: timestamppb.Now(), Namespace: p.namespace, Topic: topic, Event: anyEvent}
	select {
	case p.queue <- env:
	default:
		p.log.Error("event queue full, event dropped", "topic", topic)
	}
}

// close stops accepting events and waits (up to limit) until the queued
// ones are delivered.
func (p *publisher) close(limit time.Duration) {
	close(p.queue)
	select {
	case <-p.drained:
	case <-time.After(limit):
	}
}

func (p *publisher) run() {
	defer close(p.drained)
	var client *ttrpc.Client
	defer func() {
		if client != nil {
			client.Close()
		}
	}()
	for env := range p.queue {
		deadline := time.Now().Add(publishRetryFor)
		for backoff := 50 * time.Millisecond; ; backoff = min(backoff*2, 2*time.Second) {
			if client == nil {
				client = p.dial()
			}
			if client != nil && p.forward(client, env) == nil {
				break
			}
			if client != nil {
				client.Close()
				client = nil
			}
			if time.Now().After(deadline) {
				p.log.Error("event not delivered", "topic", env.Topic)
				break
			}
			time.Sleep(backoff)
		}
	}
}

func (p *publisher) dial() *ttrpc.Client {
	if p.address == "" {
		return nil
	}
	conn, err := net.DialTimeout("unix", p.address, 2*time.Second)
	if err != nil {
		return nil
	}
	return ttrpc.NewClient(conn)
}

func (p *publisher) forward(client *ttrpc.Client, env *types.Envelope) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ctx = ttrpc.WithMetadata(ctx, ttrpc.MD{"containerd-namespace-ttrpc": []string{p.namespace}})
	_, err := eventsapi.NewEventsClient(client).Forward(ctx, &eventsapi.ForwardRequest{Envelope: env})
	if err != nil {
		p.log.Warn("forward event", "topic", env.Topic, "err", err)
	}
	return err
}
