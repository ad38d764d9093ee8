//go:build !linux

package containerlog

// watcher is not implemented off Linux; followers poll.
type watcher struct{}

func newWatcher(string) *watcher           { return nil }
func (w *watcher) events() <-chan struct{} { return nil }
func (w *watcher) close()                  {}
