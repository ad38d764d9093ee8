package core

// replayStart is where a subscriber starts reading (the last sequence it
// is taken to have seen), given since (nil: live events only), the oldest
// retained sequence (0: none) and the newest sequence ever assigned. A
// since at or beyond the newest, up to MaxUint64, replays nothing and
// follows from now; lost says events after since were pruned.
func replayStart(since *uint64, oldest, newest uint64) (last uint64, lost bool) {
	if since == nil || *since >= newest {
		return newest, false
	}
	return *since, oldest > 0 && *since+1 < oldest
}
