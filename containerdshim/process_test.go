package containerdshim

import (
	"sync"
	"testing"
	"time"
)

// TestSetExitedAnnouncesBeforeDone: a waiter woken by the exit (a Wait
// followed by a Delete) acts only after the exit was announced, however
// slow the announcement; a second exit is neither recorded nor announced.
func TestSetExitedAnnouncesBeforeDone(t *testing.T) {
	p := newProcess("", stdio{})
	p.pid = 42
	var mu sync.Mutex
	var order []string
	note := func(s string) {
		mu.Lock()
		order = append(order, s)
		mu.Unlock()
	}
	waited := make(chan struct{})
	go func() {
		<-p.done
		note("delete")
		close(waited)
	}()
	first := p.setExited(exit{status: 3}, func(pid uint32) {
		time.Sleep(50 * time.Millisecond) // the waiter would overtake a late announcement
		if pid != 42 {
			t.Errorf("announced pid %d, want 42", pid)
		}
		note("exit")
	})
	<-waited
	again := p.setExited(exit{status: 9}, func(uint32) { note("second exit") })
	mu.Lock()
	defer mu.Unlock()
	if !first || again || len(order) != 2 || order[0] != "exit" || order[1] != "delete" {
		t.Fatalf("first %v, again %v, order %v; want true, false, [exit delete]", first, again, order)
	}
	if e := p.exitStatus(); e == nil || e.status != 3 {
		t.Fatalf("exit %v, want status 3", e)
	}
}
