#!/usr/bin/env bash
# try.sh runs the e2e suites (test/e2e, sandbox, bundle: the real daemon and
# runsc) twice, plainly and under the emulated hardening of nucleusd.service,
# and prints what passed. Extra arguments go to the emulator, to try more
# options (e.g. -mdwe, -umask 63, -restrict-userns, -restrict-suid-sgid).
# Needs root and bin/runsc (make build); takes about 15 minutes.
set -euo pipefail
cd "$(dirname "$0")/../../.."
out=$(mktemp -d)
go build -o "$out/hardening" ./deploy/testdata/hardening
for p in test/e2e sandbox bundle; do go test -c -o "$out/$(basename "$p").test" "./$p"; done

# SystemCallFilter=~… and CapabilityBoundingSet= exactly as in the unit.
deny=$(systemd-analyze syscall-filter @clock @cpu-emulation @module @obsolete @raw-io @reboot @swap |
  sed -n 's/^    \([a-z0-9_]*\)$/\1/p' | paste -sd,)
caps=$(sed -n 's/^CapabilityBoundingSet=//p' deploy/systemd/nucleusd.service | tr ' ' ',')
# AF_UNIX=1 AF_INET=2 AF_INET6=10 AF_NETLINK=16 AF_PACKET=17; unshare --uts is
# ProtectHostname='s namespace half.
unit=("$out/hardening" -nnp -arch-native -lock-personality -restrict-realtime -protect-hostname-seccomp
  -address-families 1,2,10,16,17 -deny-syscalls "$deny" -bounding "$caps" "$@" -- unshare --uts)

run() {
  local name=$1; shift
  for p in test/e2e sandbox bundle; do
    (cd "$p" && NUCLEUS_E2E=require "$@" "$out/$(basename "$p").test" -test.run E2E -test.count=1 -test.timeout 30m -test.v) \
      >"$out/$name-$(basename "$p").log" 2>&1 || true
  done
  echo "$name: $(cat "$out/$name"-*.log | grep -c '^--- PASS') passed; failed: $(cat "$out/$name"-*.log | grep '^--- FAIL' | awk '{print $3}' | sort | tr '\n' ' ')"
}
run plain env
run hardened "${unit[@]}"
echo "logs: $out"
