#!/usr/bin/env bash
# Installs Nucleus on a Kubernetes node from the installer image (see
# installer-daemonset.yaml): binaries, systemd units, nucleusd's node config
# (kept when present), the "nucleus" runtime in containerd's config (once),
# then starts nucleusd and restarts containerd on the host. Idempotent: a
# re-run replaces the binaries and changes nothing else.
#
#   HOST_ROOT     where the host's / is mounted (default /host)
#   NUCLEUS_SRC   the installer's files (default /opt/nucleus)
#   HOST_EXEC     how to run a command on the host (default: nsenter into
#                 pid 1's namespaces; needs hostPID)
#   INSTALL_ONCE  set: exit after installing instead of sleeping (tests)
set -euo pipefail

HOST_ROOT=${HOST_ROOT:-/host}
NUCLEUS_SRC=${NUCLEUS_SRC:-/opt/nucleus}
HOST_EXEC=${HOST_EXEC:-nsenter --target 1 --mount --uts --ipc --net --pid --}
MARKER="# nucleus runtime (deploy/kubernetes)"
BINARIES=(nucleusd nucleus-supervisor nucleus-fs nucleusctl runsc containerd-shim-nucleus-v2)

log() { echo "nucleus-install: $*"; }

host() {
  # shellcheck disable=SC2086 # HOST_EXEC is a command line on purpose
  $HOST_EXEC "$@"
}

# install_file SRC DST MODE: copy, then rename over DST, so a running
# binary keeps its old inode and a reader never sees half a file.
install_file() {
  local src=$1 dst=$2 mode=$3
  mkdir -p "$(dirname "$dst")"
  cp "$src" "$dst.nucleus-tmp"
  chmod "$mode" "$dst.nucleus-tmp"
  mv -f "$dst.nucleus-tmp" "$dst"
}

install_binaries() {
  local b
  for b in "${BINARIES[@]}"; do
    install_file "$NUCLEUS_SRC/bin/$b" "$HOST_ROOT/usr/local/bin/$b" 0755
  done
  log "binaries installed in /usr/local/bin"
}

install_units() {
  install_file "$NUCLEUS_SRC/systemd/nucleusd.service" "$HOST_ROOT/etc/systemd/system/nucleusd.service" 0644
  install_file "$NUCLEUS_SRC/systemd/nucleusd.socket" "$HOST_ROOT/etc/systemd/system/nucleusd.socket" 0644
  install_file "$NUCLEUS_SRC/tmpfiles.d/nucleus.conf" "$HOST_ROOT/etc/tmpfiles.d/nucleus.conf" 0644
  install_file "$NUCLEUS_SRC/sysusers.d/nucleus.conf" "$HOST_ROOT/etc/sysusers.d/nucleus.conf" 0644
  if [ -e "$HOST_ROOT/etc/nucleus/nucleusd.toml" ]; then
    log "keeping the node's /etc/nucleus/nucleusd.toml"
  else
    install_file "$NUCLEUS_SRC/nucleusd-node.toml" "$HOST_ROOT/etc/nucleus/nucleusd.toml" 0644
  fi
}

# containerd_snippet: the runtime snippet for the config's version (3 is
# containerd 2.x, anything else 1.6/1.7's version 2).
containerd_snippet() {
  local cfg=$1
  if grep -Eq '^[[:space:]]*version[[:space:]]*=[[:space:]]*3' "$cfg" 2>/dev/null; then
    echo "$NUCLEUS_SRC/containerd-config-v3.toml"
  else
    echo "$NUCLEUS_SRC/containerd-config-v2.toml"
  fi
}

configure_containerd() {
  local cfg="$HOST_ROOT/etc/containerd/config.toml"
  mkdir -p "$(dirname "$cfg")"
  if [ ! -s "$cfg" ]; then
    # No config: containerd's defaults plus the runtime.
    printf 'version = 2\n' >"$cfg"
  fi
  if grep -qF "$MARKER" "$cfg"; then
    log "containerd already has the nucleus runtime"
    return 1
  fi
  local snippet
  snippet=$(containerd_snippet "$cfg")
  cp "$cfg" "$cfg.nucleus-backup"
  { printf '\n'; cat "$snippet"; } >>"$cfg"
  log "added the nucleus runtime to /etc/containerd/config.toml ($(basename "$snippet"))"
  return 0
}

main() {
  install_binaries
  install_units
  host systemctl daemon-reload
  host systemd-sysusers /etc/sysusers.d/nucleus.conf || true
  host systemd-tmpfiles --create /etc/tmpfiles.d/nucleus.conf || true
  host systemctl enable nucleusd.socket nucleusd.service
  # A running nucleusd is restarted onto the new binary; containers keep
  # running (KillMode=process) and are adopted again.
  host systemctl restart nucleusd.service
  if configure_containerd; then
    host systemctl restart containerd
  fi
  log "installed"
  if [ -z "${INSTALL_ONCE:-}" ]; then
    exec sleep infinity
  fi
}

main "$@"
