package clienttest

import (
	"fmt"
	"strings"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
)

// Container returns a minimal container record: id is padded to 32 hex-ish
// characters when short, and the name is "name-" + id.
func Container(id string, state nucleusv1.ContainerState) *nucleusv1.Container {
	if len(id) < 32 {
		id += strings.Repeat("0", 32-len(id))
	}
	return &nucleusv1.Container{Id: id, Name: "name-" + id[:4], State: state}
}

// RunScript is a canned attached (or detached) Run: it answers the start
// with Container, then writes Stdout and Stderr and ends with Exit. With
// ReadStdin it first reads stdin messages until close_stdin and echoes what
// it read to stdout; with WaitSignals it waits for that many signal messages
// before exiting.
type RunScript struct {
	Container      *nucleusv1.Container
	Stdout, Stderr string
	Exit           *nucleusv1.ExitStatus
	ReadStdin      bool
	WaitSignals    int
	// Block, when set, makes the run wait until the client goes away.
	Block bool
}

// Serve is a RunFunc.
func (s RunScript) Serve(st Stream[nucleusv1.RunRequest, nucleusv1.RunResponse]) error {
	first, err := st.Recv()
	if err != nil {
		return err
	}
	start := first.GetStart()
	if start == nil {
		return fmt.Errorf("first Run message is not start")
	}
	ctr := s.Container
	if ctr == nil {
		ctr = Container("c1", nucleusv1.ContainerState_CONTAINER_STATE_RUNNING)
	}
	if err := st.Send(&nucleusv1.RunResponse{Msg: &nucleusv1.RunResponse_Container{Container: ctr}}); err != nil {
		return err
	}
	if start.GetDetach() {
		return nil
	}
	var in []byte
	for closed, signals := !s.ReadStdin, 0; !closed || signals < s.WaitSignals; {
		m, err := st.Recv()
		if err != nil {
			return err
		}
		switch {
		case m.GetCloseStdin():
			closed = true
		case m.GetSignal() != 0:
			signals++
		default:
			in = append(in, m.GetStdin()...)
		}
	}
	s.Stdout += string(in)
	if s.Block {
		<-st.Context().Done()
		return st.Context().Err()
	}
	if s.Stdout != "" {
		if err := st.Send(&nucleusv1.RunResponse{Msg: &nucleusv1.RunResponse_Stdout{Stdout: []byte(s.Stdout)}}); err != nil {
			return err
		}
	}
	if s.Stderr != "" {
		if err := st.Send(&nucleusv1.RunResponse{Msg: &nucleusv1.RunResponse_Stderr{Stderr: []byte(s.Stderr)}}); err != nil {
			return err
		}
	}
	exit := s.Exit
	if exit == nil {
		exit = &nucleusv1.ExitStatus{Reason: "exited"}
	}
	return st.Send(&nucleusv1.RunResponse{Msg: &nucleusv1.RunResponse_Exit{Exit: exit}})
}
