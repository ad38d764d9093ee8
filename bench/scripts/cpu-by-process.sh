#!/usr/bin/env bash
# CPU per cold `nucleusctl run --rm /bin/true`, per process name, from
# scheduler tracepoints (perf sched): N runs, each followed by a pause, and
# each process's time on CPU summed by its command name and divided by N.
# It records the whole machine, so run it on a quiet one. Needs root, perf
# and a nucleusd answering at $NUCLEUS_ADDRESS.
#   NUCLEUS_ADDRESS=/run/nucleus/nucleusd.sock bench/scripts/cpu-by-process.sh 20
# Raw runsc's total per run is figure 1's "CPU outside the sandbox" row.
set -euo pipefail
n=${1:-20}
ctl=${NUCLEUSCTL:-bin/nucleusctl}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
perf sched record -q -o "$out/sched.data" -- bash -c "for i in \$(seq $n); do $ctl run --rm /bin/true; sleep 0.4; done" >/dev/null 2>&1
perf sched timehist -i "$out/sched.data" -s 2>/dev/null | awk -v n="$n" '
	/Runtime summary/ {on=1; next}
	on && /^ *[^ ]+\[[0-9]+\]/ {
		name=$1; sub(/\[.*$/, "", name)
		ms[name]+=$(NF-5)
	}
	END { for (k in ms) if (ms[k]/n >= 0.1) printf "%-20s %8.1f ms per run\n", k, ms[k]/n }' | sort -k2 -n -r
