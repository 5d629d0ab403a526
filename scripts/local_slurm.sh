#!/usr/bin/env bash
# A one-node Slurm cluster on this machine (munged, slurmctld and slurmd on localhost), for trying
# `workbench submit --scheduler slurm` and for tests/cluster_slurm.rs. `./dev slurm start|stop|status`.
#
#   start   install Debian's slurm-wlm and munge the first time (apt-get, as root or with sudo),
#           write a munge key if missing, write slurm.conf from cluster/slurm/slurm.conf, start the
#           three daemons and wait until `sinfo` shows the node idle
#   stop    stop the daemons this script started
#   status  print sinfo and squeue
#
# State (logs, pid files, spool) lives in $WORKBENCH_SLURM_DIR (default /var/tmp/workbench-slurm).
# The config goes to /etc/slurm/slurm.conf only when that file is absent or was written here; else
# it stays in the state folder and you export SLURM_CONF=<that file> (printed) for the clients.
set -euo pipefail
cd "$(dirname "$0")/.."
STATE=${WORKBENCH_SLURM_DIR:-/var/tmp/workbench-slurm}
MARK="workbench-local-slurm"
say() { printf '[slurm] %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "run as root or install sudo: the daemons and apt-get need root"
    SUDO="sudo"
fi

install_packages() {
    command -v slurmctld >/dev/null 2>&1 && command -v munged >/dev/null 2>&1 && command -v sbatch >/dev/null 2>&1 && return 0
    command -v apt-get >/dev/null 2>&1 || die "slurmctld/munged are missing and apt-get is not available; install Slurm and MUNGE by hand"
    say "installing slurm-wlm and munge (apt-get; about 100 MB, once) ..."
    $SUDO apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq slurm-wlm munge >/dev/null
}

conf_path() {
    if [ ! -e /etc/slurm/slurm.conf ] || grep -q "$MARK" /etc/slurm/slurm.conf 2>/dev/null; then
        echo /etc/slurm/slurm.conf
    else
        echo "$STATE/slurm.conf"
    fi
}

running() { [ -f "$STATE/$1.pid" ] && kill -0 "$(cat "$STATE/$1.pid")" 2>/dev/null; }

start_munge() {
    if [ ! -s /etc/munge/munge.key ]; then
        say "writing a munge key (/etc/munge/munge.key)"
        $SUDO mkdir -p /etc/munge
        $SUDO dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
    fi
    $SUDO chown -R munge:munge /etc/munge
    $SUDO chmod 0700 /etc/munge
    $SUDO chmod 0400 /etc/munge/munge.key
    $SUDO mkdir -p /run/munge /var/log/munge /var/lib/munge
    $SUDO chown munge:munge /run/munge /var/log/munge /var/lib/munge
    if munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
        return 0
    fi
    say "starting munged"
    $SUDO runuser -u munge -- /usr/sbin/munged
    for _ in $(seq 50); do
        munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    die "munged did not answer; see /var/log/munge/munged.log"
}

write_conf() {
    local conf=$1 node host
    host=$(hostname -s)
    node=$(slurmd -C | head -n 1)
    $SUDO mkdir -p "$STATE/ctld" "$STATE/d" "$(dirname "$conf")"
    sed -e "s|@STATE@|$STATE|g" -e "s|@HOST@|$host|g" -e "s|@HOSTNODE@|$host|g" -e "s|@NODE@|$node|g" \
        cluster/slurm/slurm.conf | $SUDO tee "$conf" >/dev/null
}

start() {
    install_packages
    start_munge
    local conf
    conf=$(conf_path)
    write_conf "$conf"
    export SLURM_CONF=$conf
    if ! running slurmctld; then
        say "starting slurmctld (log: $STATE/slurmctld.log)"
        $SUDO env SLURM_CONF="$conf" /usr/sbin/slurmctld -f "$conf"
    fi
    if ! running slurmd; then
        say "starting slurmd (log: $STATE/slurmd.log)"
        $SUDO env SLURM_CONF="$conf" /usr/sbin/slurmd -f "$conf"
    fi
    local state=""
    for _ in $(seq 60); do
        state=$(sinfo -h -N -o '%T' 2>/dev/null | head -n 1 || true)
        case "$state" in
            idle|mixed|allocated) break ;;
            down*|drain*|inval*) scontrol update nodename="$(hostname -s)" state=resume >/dev/null 2>&1 || true ;;
        esac
        sleep 1
    done
    case "$state" in
        idle|mixed|allocated) ;;
        *) die "the node is '${state:-not listed}' after 60 s; see $STATE/slurmctld.log and $STATE/slurmd.log" ;;
    esac
    say "Slurm is up: partition debug, node $(hostname -s) $state"
    [ "$conf" = /etc/slurm/slurm.conf ] || say "clients need: export SLURM_CONF=$conf"
}

stop() {
    local daemon
    for daemon in slurmd slurmctld; do
        if running "$daemon"; then
            say "stopping $daemon"
            $SUDO kill "$(cat "$STATE/$daemon.pid")"
            for _ in $(seq 50); do running "$daemon" || break; sleep 0.2; done
        fi
    done
    say "stopped (munged is left running; other programs may use it)"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) SLURM_CONF=$(conf_path) sinfo; SLURM_CONF=$(conf_path) squeue ;;
    *) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
