#!/usr/bin/env bash
# A real, minimal Slurm cluster on this one machine, for the fleet tests:
# munged with a generated key, slurmctld, and two slurmd (node names n1 and
# n2, both on 127.0.0.1, each on its own port: Slurm's multiple-slurmd
# mode, which Debian's slurm-wlm build allows with `slurmd -N NAME`).
#
#   scripts/ci-slurm.sh start    start the daemons, wait until sinfo shows both nodes idle
#   scripts/ci-slurm.sh stop     stop exactly the daemons `start` started (by PID)
#   scripts/ci-slurm.sh status   sinfo, or a one-line reason
#   scripts/ci-slurm.sh env      the environment lines the clients need (eval them)
#
# Everything lives in $FLOPCAST_SLURM_DIR (default /tmp/flopcast-slurm): the
# configuration, the munge key and socket, state, spool, logs and PID files.
# Clients find the cluster with SLURM_CONF=$FLOPCAST_SLURM_DIR/slurm.conf
# (the Go tests look there too when SLURM_CONF is unset).
# Needs: slurm-wlm and munge (Debian: apt-get install slurm-wlm munge); root.
set -euo pipefail

DIR=${FLOPCAST_SLURM_DIR:-/tmp/flopcast-slurm}
CTLD_PORT=${FLOPCAST_SLURM_PORT:-16817}
NODES=(n1 n2)
CPUS_PER_NODE=${FLOPCAST_SLURM_CPUS:-2}
START_TIMEOUT=${FLOPCAST_SLURM_TIMEOUT:-60}

die() { echo "ci-slurm: $*" >&2; exit 1; }

need() {
	for b in munged slurmctld slurmd sinfo srun; do
		command -v "$b" >/dev/null 2>&1 || [ -x "/usr/sbin/$b" ] ||
			die "$b not found (install slurm-wlm and munge)"
	done
}

bin() { command -v "$1" 2>/dev/null || echo "/usr/sbin/$1"; }

write_conf() {
	local host
	host=$(hostname -s)
	mkdir -p "$DIR/state" "$DIR/log" "$DIR/run" "$DIR/munge"
	for n in "${NODES[@]}"; do mkdir -p "$DIR/spool/$n"; done
	cat >"$DIR/slurm.conf" <<EOF
# Written by scripts/ci-slurm.sh: two nodes on one host for flopcast's tests.
ClusterName=flopcast-ci
SlurmctldHost=${host}(127.0.0.1)
SlurmctldPort=${CTLD_PORT}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=${DIR}/munge/munge.socket
StateSaveLocation=${DIR}/state
SlurmdSpoolDir=${DIR}/spool/%n
SlurmctldPidFile=${DIR}/run/slurmctld.pid
SlurmdPidFile=${DIR}/run/slurmd-%n.pid
SlurmctldLogFile=${DIR}/log/slurmctld.log
SlurmdLogFile=${DIR}/log/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/builtin
ReturnToService=2
SlurmdParameters=config_overrides
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
MinJobAge=30
NodeName=n1 NodeHostname=${host} NodeAddr=127.0.0.1 Port=$((CTLD_PORT + 1)) CPUs=${CPUS_PER_NODE} State=UNKNOWN
NodeName=n2 NodeHostname=${host} NodeAddr=127.0.0.1 Port=$((CTLD_PORT + 2)) CPUs=${CPUS_PER_NODE} State=UNKNOWN
PartitionName=ci Nodes=n1,n2 Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
EOF
	# Slurm reads cgroup.conf beside slurm.conf; nothing here uses cgroups.
	cat >"$DIR/cgroup.conf" <<EOF
CgroupAutomount=no
ConstrainCores=no
ConstrainRAMSpace=no
EOF
}

# started records a PID this script started, for `stop`.
started() { echo "$1 $2" >>"$DIR/run/started"; }

wait_pidfile() { # file seconds
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		[ -s "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

start() {
	need
	if [ -s "$DIR/run/started" ]; then
		die "already started (see $DIR/run/started); run '$0 stop' first"
	fi
	write_conf
	export SLURM_CONF="$DIR/slurm.conf"
	: >"$DIR/run/started"

	# munge: a fresh key, its own socket, PID and log.
	dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1024 count=1 status=none
	chmod 0400 "$DIR/munge/munge.key"
	chmod 0700 "$DIR/munge"
	"$(bin munged)" --force \
		--key-file="$DIR/munge/munge.key" \
		--socket="$DIR/munge/munge.socket" \
		--pid-file="$DIR/munge/munged.pid" \
		--log-file="$DIR/log/munged.log" \
		--seed-file="$DIR/munge/munged.seed" ||
		die "munged failed to start: $(tail -n 3 "$DIR/log/munged.log" 2>/dev/null | tr '\n' ' ')"
	wait_pidfile "$DIR/munge/munged.pid" 10 || die "munged wrote no PID file"
	started munged "$(cat "$DIR/munge/munged.pid")"

	"$(bin slurmctld)" -f "$SLURM_CONF" -i ||
		die "slurmctld failed: $(tail -n 5 "$DIR/log/slurmctld.log" 2>/dev/null | tr '\n' ' ')"
	wait_pidfile "$DIR/run/slurmctld.pid" 20 || die "slurmctld wrote no PID file: $(tail -n 5 "$DIR/log/slurmctld.log" | tr '\n' ' ')"
	started slurmctld "$(cat "$DIR/run/slurmctld.pid")"

	for n in "${NODES[@]}"; do
		"$(bin slurmd)" -f "$SLURM_CONF" -N "$n" ||
			die "slurmd $n failed: $(tail -n 5 "$DIR/log/slurmd-$n.log" 2>/dev/null | tr '\n' ' ')"
		wait_pidfile "$DIR/run/slurmd-$n.pid" 20 || die "slurmd $n wrote no PID file: $(tail -n 5 "$DIR/log/slurmd-$n.log" | tr '\n' ' ')"
		started "slurmd-$n" "$(cat "$DIR/run/slurmd-$n.pid")"
	done

	# Wait until both nodes are idle, by the clock: a sinfo that waits out
	# an unanswering slurmctld counts against START_TIMEOUT too.
	local states begin=$SECONDS
	while ((SECONDS - begin < START_TIMEOUT)); do
		states=$(sinfo -h -N -o '%N %t' 2>/dev/null | sort -u | tr '\n' ' ' || true)
		if [ "$(sinfo -h -N -t idle -o '%N' 2>/dev/null | sort -u | wc -l)" -ge "${#NODES[@]}" ]; then
			echo "ci-slurm: up in $DIR after $((SECONDS - begin)) s: $(sinfo -h -N -o '%N %t' | sort -u | tr '\n' ' ')(export SLURM_CONF=$SLURM_CONF)"
			return 0
		fi
		sleep 0.2
	done
	echo "ci-slurm: nodes not idle after ${START_TIMEOUT}s: ${states:-no answer from slurmctld}" >&2
	tail -n 5 "$DIR/log/slurmctld.log" >&2 || true
	stop
	exit 1
}

stop() {
	[ -s "$DIR/run/started" ] || { echo "ci-slurm: nothing started in $DIR"; return 0; }
	local name pid i
	# Newest first: slurmd, then slurmctld, then munged.
	tac "$DIR/run/started" | while read -r name pid; do
		kill -TERM "$pid" 2>/dev/null || continue
		for ((i = 0; i < 50; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
		echo "ci-slurm: stopped $name ($pid)"
	done
	rm -f "$DIR/run/started"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
status)
	[ -s "$DIR/slurm.conf" ] || die "not configured in $DIR"
	SLURM_CONF="$DIR/slurm.conf" sinfo -N
	;;
env) echo "export SLURM_CONF=$DIR/slurm.conf" ;;
*)
	echo "usage: $0 start|stop|status|env" >&2
	exit 2
	;;
esac
