package runsc

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"strings"
	"time"
)

// errorLog collects the error messages runsc writes to --log-fd, for the
// commands whose stdio belongs to the workload (create, exec): there runsc's
// stderr is the container's, so its own message must come another way.
type errorLog struct {
	r, w *os.File
	done chan struct{}
	msgs []string
}

// newErrorLog makes the pipe; w goes to the child as ExtraFiles[i].
func newErrorLog() (*errorLog, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	l := &errorLog{r: r, w: w, done: make(chan struct{})}
	go l.collect()
	return l, nil
}

func (l *errorLog) collect() {
	defer close(l.done)
	sc := bufio.NewScanner(io.LimitReader(l.r, 1<<20))
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for sc.Scan() {
		var m struct {
			Msg string `json:"msg"`
		}
		if json.Unmarshal(sc.Bytes(), &m) == nil && m.Msg != "" {
			l.msgs = append(l.msgs, m.Msg)
		} else if line := strings.TrimSpace(sc.Text()); line != "" {
			l.msgs = append(l.msgs, line)
		}
	}
	_, _ = io.Copy(io.Discard, l.r)
}

// closeWriter closes the parent's copy of the write end once the child has
// started (the child keeps its own).
func (l *errorLog) closeWriter() { _ = l.w.Close() }

// message waits for the child to close its end (for at most a second
// after it exited: a descendant might have inherited the fd) and returns
// what it wrote.
func (l *errorLog) message() string {
	_ = l.w.Close()
	_ = l.r.SetReadDeadline(time.Now().Add(time.Second))
	<-l.done
	_ = l.r.Close()
	return strings.Join(l.msgs, "; ")
}
