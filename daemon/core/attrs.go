package core

// Event attributes (Event.attributes in the API); values are strings,
// numbers in decimal.
const (
	// AttrReason is an EXITED event's exit reason ("exited", "killed", ...).
	AttrReason = "reason"
	// AttrSignal is a signal number: the one a KILLED event's Kill or
	// Stop sent, or the one that ended an EXITED event's process.
	AttrSignal = "signal"
)
