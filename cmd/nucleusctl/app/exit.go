package app

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	nucleusv1 "nucleus.dev/nucleus/api/nucleus/v1"
)

// Exit codes besides the container's own, as docker uses them.
const (
	// ExitFailure: nucleusctl or nucleusd failed (bad flag, daemon
	// unreachable, any API error).
	ExitFailure = 125
	// ExitCannotRun: the command was found but could not be run.
	ExitCannotRun = 126
	// ExitNotFound: the command was not found.
	ExitNotFound = 127
	// ExitStoppedWaiting: a second Ctrl-C stopped waiting for an attached
	// container, which keeps running (128 + SIGINT, as a shell reports it).
	ExitStoppedWaiting = 130
)

// exitError ends nucleusctl with code, printing msg (when set) as one line.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// report prints err as one line on stderr and returns the exit code.
func (g *globals) report(err error) int {
	if err == nil {
		return 0
	}
	code, msg := ExitFailure, err.Error()
	var ee *exitError
	if errors.As(err, &ee) {
		code, msg = ee.code, ee.msg
	}
	if msg != "" {
		fmt.Fprintln(g.env.Stderr, "nucleusctl: "+oneLine(msg))
	}
	return code
}

// oneLine joins the non-empty lines of msg with "; ".
func oneLine(msg string) string {
	var parts []string
	for _, l := range strings.Split(msg, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, "; ")
}

// flagError makes a flag parsing error one line that points to --help.
func flagError(c *cobra.Command, err error) error {
	return fmt.Errorf("%v (see '%s --help')", err, c.CommandPath())
}

// exitStatus turns how a container or exec process ended into nucleusctl's
// exit: the process's code, except that a daemon-side failure (reason
// "error" with a code other than 126/127) is 125. Endings other than a plain
// exit or kill are explained on stderr.
func exitStatus(what string, st *nucleusv1.ExitStatus) error {
	code, reason := int(st.GetExitCode()), st.GetReason()
	if reason == "error" && code != ExitCannotRun && code != ExitNotFound {
		code = ExitFailure
	}
	var msg string
	if reason != "" && reason != "exited" && reason != "killed" {
		msg = fmt.Sprintf("%s ended: %s", what, reason)
		if st.GetMessage() != "" {
			msg += ": " + st.GetMessage()
		}
	}
	if code == 0 && msg == "" {
		return nil
	}
	return &exitError{code: code, msg: msg}
}

// failures collects per-argument errors of commands taking several ids:
// each is printed at once, and the command then exits 125.
type failures struct {
	g *globals
	n int
}

func (f *failures) add(err error) {
	f.n++
	fmt.Fprintln(f.g.env.Stderr, "nucleusctl: "+oneLine(err.Error()))
}

func (f *failures) err() error {
	if f.n == 0 {
		return nil
	}
	return &exitError{code: ExitFailure}
}
