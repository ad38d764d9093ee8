// Package containerlog stores a container's stdout and stderr in a framed,
// size-capped log file and reads it back for the Logs RPC.
//
// # Format
//
// The format is modelled on the CRI log format. Each entry is one line:
//
//	<timestamp> <stream> <P|F> <content>\n
//
// The timestamp is RFC 3339 in UTC with exactly nine fractional digits
// (fixed width, so entries sort and align). Stream is "stdout", "stderr" or
// "nucleus". Tag F means the content ends a line of the container's output
// (the newline itself is not stored); P means the line was split and more of
// it follows: at MaxEntrySize content bytes, or because the stream was
// flushed or closed without a newline. Content is the container's bytes,
// raw and never interpreted; because lines are split at '\n', an entry can
// never contain one, so no output can forge an entry or its stream. Escape
// renders content safely for a terminal.
//
// # Rotation
//
// A log is two files: path (current) and path+".1" (the previous one). Each
// holds at most MaxBytes/2, so the pair never exceeds MaxBytes. When the
// next write would overflow the current file, it is renamed to path+".1"
// (discarding the older file) and a new current file is started, whose first
// entry is a marker on the "nucleus" stream giving the reason. A container
// cannot write to that stream, so markers cannot be forged. A marker as the first entry of a read
// means older output was discarded before it; a marker in the middle only
// shows where the files meet. The newest output is always kept.
//
// # Durability
//
// Each batch of entries is one write(2); nothing is fsynced until Sync or
// Close. A writer killed mid-write leaves at most one torn last line:
// readers skip it, and NewWriter rotates such a file away rather than
// append to it. Files are only ever appended to, so followers' offsets stay
// valid.
//
// # Reading
//
// Read streams entries with bounded memory: it reads path+".1" then path,
// skips corrupt or overlong lines, and in follow mode waits (through a
// Watcher, one inotify instance shared by every follower, on Linux; polling
// otherwise) for new entries, following the current file
// across rotations by inode without losing or repeating entries, unless the
// writer discards a whole file the reader has not reached yet.
package containerlog
