#!/usr/bin/env bash
# A throwaway single-node Slurm cluster on localhost for the sweep tests (and for trying `workbook sweep --scheduler
# slurm` by hand): its own munge daemon and key, slurmctld and slurmd, configuration, state and logs, all in DIR.
#   single-node.sh start DIR   prints SLURM_CONF=DIR/slurm.conf once the node accepts jobs; export it for sbatch & co.
#   single-node.sh stop DIR    stops the three daemons (by the pids in DIR) and leaves DIR for inspection.
# Needs Debian's slurm-wlm and munge (./workbook setup installs them) and root (slurmd starts jobs as their user).
set -euo pipefail
cmd="${1:?usage: single-node.sh start|stop DIR}"
dir="$(realpath -m "${2:?usage: single-node.sh start|stop DIR}")"

stop() {
  for d in slurmd slurmctld munged; do
    [ -f "$dir/$d.pid" ] || continue
    pid="$(cat "$dir/$d.pid")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$dir/$d.pid"
  done
}

case "$cmd" in
  stop) stop; exit 0 ;;
  start) ;;
  *) echo "single-node.sh: unknown command '$cmd' (start or stop)" >&2; exit 2 ;;
esac

for tool in munged slurmctld slurmd sbatch squeue sinfo; do
  if ! command -v "$tool" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$tool" ]; then
    echo "single-node.sh: '$tool' not found: install Debian's slurm-wlm and munge (run ./workbook setup)." >&2
    exit 3
  fi
done
if [ "$(id -u)" -ne 0 ]; then echo "single-node.sh: slurmd must run as root." >&2; exit 3; fi
PATH="$PATH:/usr/sbin"

mkdir -p "$dir"/{munge,state,spool}
chmod 700 "$dir" "$dir/munge"
port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
ctld_port="$(port)"; slurmd_port="$(port)"
while [ "$slurmd_port" = "$ctld_port" ]; do slurmd_port="$(port)"; done

# munge: a fresh key, its own socket (Slurm finds it through AuthInfo).
head -c 1024 /dev/urandom > "$dir/munge/munge.key"
chmod 600 "$dir/munge/munge.key"
munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" --pid-file="$dir/munged.pid" \
  --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed"

cpus="$(nproc)"
cat > "$dir/slurm.conf" <<CONF
# Single-node test cluster written by $(basename "$0").
ClusterName=workbook-test
SlurmctldHost=localhost
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SlurmdParameters=config_overrides
ReturnToService=2
MinJobAge=30
KillWait=5
InactiveLimit=0
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=test Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$dir/slurm.conf"

slurmctld -i -f "$SLURM_CONF"
slurmd -N localhost -f "$SLURM_CONF"

# Ready when the node is idle (the controller has heard from slurmd).
for _ in $(seq 150); do
  state="$(sinfo -h -n localhost -o %T 2>/dev/null || true)"
  if [ "$state" = "idle" ]; then echo "SLURM_CONF=$SLURM_CONF"; exit 0; fi
  sleep 0.2
done
echo "single-node.sh: the node did not become idle in 30 s (state: '${state:-none}'); logs in $dir:" >&2
tail -n 5 "$dir"/slurmctld.log "$dir"/slurmd.log "$dir"/munge/munged.log >&2 || true
stop
exit 1
