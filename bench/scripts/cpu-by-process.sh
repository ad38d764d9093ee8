#!/usr/bin/env bash
# CPU per cold `nucleusctl run --rm /bin/true`, per process name, from
# scheduler tracepoints (perf sched): N runs, each followed by a pause, and
# each process's time on CPU summed by its command name and divided by N.
# It records the whole machine, so run it on a quiet one. Needs root, perf
# and a nucleusd answering at $NUCLEUS_ADDRESS.
#   NUCLEUS_ADDRESS=/run/nucleus/nucleusd.sock bench/scripts/cpu-by-process.sh 20
# With RUNSC_BUNDLE=<bundle dir> it measures raw `runsc run` + `runsc
# delete` of that bundle instead (RUNSC, RUNSC_ROOT: the binary and its
# --root; a bundle nucleusd made, e.g. a created container's, with its
# cgroupsPath changed). runsc's sandbox and gofer show as "exe" there (runsc
# re-executes /proc/self/exe) and as "runsc" under nucleusd.
set -euo pipefail
n=${1:-20}
ctl=${NUCLEUSCTL:-bin/nucleusctl}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
if [ -n "${RUNSC_BUNDLE:-}" ]; then
	rs="${RUNSC:-bin/runsc} --root ${RUNSC_ROOT:-/run/runsc} --network=none --platform=systrap"
	loop="for i in \$(seq $n); do $rs run --bundle $RUNSC_BUNDLE cpu-raw-\$i; $rs delete cpu-raw-\$i; sleep 0.4; done"
else
	loop="for i in \$(seq $n); do $ctl run --rm /bin/true; sleep 0.4; done"
fi
perf sched record -q -o "$out/sched.data" -- bash -c "$loop" >/dev/null 2>&1
perf sched timehist -i "$out/sched.data" -s 2>/dev/null | awk -v n="$n" '
	/Runtime summary/ {on=1; next}
	on && /\[[0-9\/]+\]/ {
		# "comm[pid]" or, for a thread of a multi-threaded process,
		# "comm[tid/pid]": the time of every thread counts.
		name=$1; sub(/\[.*$/, "", name)
		ms[name]+=$(NF-5)
	}
	END { for (k in ms) if (ms[k]/n >= 0.1) printf "%-20s %8.1f ms per run\n", k, ms[k]/n }' | sort -k2 -n -r
