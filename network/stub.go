package network

import (
	"context"
	"errors"
)

var errTODO = errors.New("network: not implemented yet")

type state struct{ att Attachment }

func (s *state) closePorts() {}

type resolver struct{}

func (r *resolver) close() {}

func (m *Manager) setup() error { return errTODO }
func (m *Manager) attach(ctx context.Context, id string, p Policy, ports []Port, restore bool) (*Attachment, error) {
	return nil, errTODO
}
func (m *Manager) detach(ctx context.Context, id string) error                 { return errTODO }
func (m *Manager) update(ctx context.Context, id string, p Policy) error       { return errTODO }
func (m *Manager) reconcile(ctx context.Context, live func(string) bool) error { return errTODO }
func (m *Manager) counters(id string) (Counters, error)                        { return Counters{}, errTODO }
