//go:build !linux

package containerlog

import "errors"

// Watcher is not implemented off Linux; followers poll.
type Watcher struct{}

// NewWatcher fails off Linux.
func NewWatcher() (*Watcher, error) { return nil, errors.New("no inotify off Linux") }

// Close does nothing.
func (w *Watcher) Close() error { return nil }

func (w *Watcher) subscribe(string) (<-chan struct{}, func()) { return nil, func() {} }
