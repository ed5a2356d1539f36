#!/usr/bin/env bash
# Performance benchmark: this project's attack step and training step against PyTorch on the same machine.
#   bench/run.sh [--rounds N] [--threads T] [--settings "small reference"] [--timeout SECONDS]
# Installs Debian's python3-torch and libopenblas0-pthread if missing (apt-get), builds bench/Bench (Release), then runs
# each measurement in its own process, interleaving PyTorch and TorchSharp (A/B/A/B …) for N rounds, and prints a table
# (bench/report.py). Raw results: artifacts/bench/<timestamp>.jsonl. Not a test: nothing here runs in `dotnet test`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
rounds=3; threads=2; settings="small reference"; limit=900
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --settings) settings="$2"; shift 2 ;;
    --timeout) limit="$2"; shift 2 ;;
    *) echo "bench/run.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

# 1. The PyTorch peer: Debian's PyTorch with OpenBLAS (without it Debian's PyTorch uses the slow reference BLAS).
missing=()
for p in python3-torch libopenblas0-pthread; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "installing ${missing[*]} (apt-get)…" >&2
  sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get install -y --no-install-recommends "${missing[@]}" >&2 || { $sudo apt-get update >&2 && $sudo apt-get install -y --no-install-recommends "${missing[@]}" >&2; }
fi

# 2. The C# side.
dotnet build bench/Bench/Bench.csproj -c Release -nologo -v quiet -clp:NoSummary >&2
cs="$root/artifacts/bin/Bench/release/bench"

mkdir -p artifacts/bench
# The attack step's products alone, in C with the same OpenBLAS (bench/step_products.c), when a C compiler is here.
products=""
if command -v cc >/dev/null && cc -O2 bench/step_products.c -o artifacts/bench/step_products -ldl 2>/dev/null; then
  products="$root/artifacts/bench/step_products"
else
  echo "bench: no C compiler (cc), or bench/step_products.c did not compile with it: no row for the attack step's products alone in C" >&2
fi
out="artifacts/bench/$(date -u +%Y%m%dT%H%M%SZ).jsonl"
load() { cut -d' ' -f1 /proc/loadavg; }
# One measurement = one process; the line records the 1-minute load before and after and the command.
measure() {
  local before after res
  before=$(load)
  if res=$(timeout "$limit" "$@" 2>/dev/null | tail -n 1) && [[ -n "$res" ]]; then :; else res=null; fi
  after=$(load)
  printf '{"load_before": %s, "load_after": %s, "cmd": "%s", "result": %s}\n' "$before" "$after" "${*: -6}" "$res" >>"$out"
  printf '  load %s→%s  %s\n' "$before" "$after" "${*: -6}" >&2
}
# Both sides run as the workbook does (./workbook exports it too): libgomp's idle workers sleep instead of spinning.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
# PyTorch runs with /usr/bin/python3 (Debian's modules) and with OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset for that
# command only: these machines set them to work around old OpenBLAS bugs, and they slow OpenBLAS's kernels down here.
py() { measure env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/torch_bench.py "$@"; }
# The C# side likewise: its OpenBLAS backend loads the same library, under the same settings.
net() { measure env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$cs" "$@"; }

steps() { # kind setting -> steps per process
  case "$1/$2" in
    attack/small) echo 400 ;; attack/reference) echo 5 ;;
    train/small) echo 2000 ;; train/reference) echo 8 ;;
  esac
}

echo "bench: $rounds rounds, $threads threads, settings: $settings; raw results in $out" >&2
# The CPU as report.py prints it with every table: vendor, family, model, and the vector extensions the kernels care about.
cpuinfo() { grep -m1 "^$1[[:space:]]*:" /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'; }
vector_flags=$(cpuinfo flags | tr ' ' '\n' | grep -xE 'avx|avx2|fma|avx512f|avx512dq|avx512bw|avx512vl|avx512_vnni|avx512_bf16' | paste -sd, -)
printf '{"machine": {"omp_wait_policy": "%s", "date": "%s", "cpu": "%s", "cpu_vendor": "%s", "cpu_family": "%s", "cpu_model": "%s", "cpu_vector_flags": "%s", "nproc": %s, "uptime": "%s", "openblas_env_unset_for_pytorch": ["OPENBLAS_CORETYPE=%s", "OPENBLAS_L2_SIZE=%s"]}}\n' \
  "$OMP_WAIT_POLICY" "$(date -u +%Y-%m-%dT%H:%MZ)" "$(cpuinfo 'model name')" "$(cpuinfo vendor_id)" "$(cpuinfo 'cpu family')" "$(cpuinfo model)" "$vector_flags" \
  "$(nproc)" "$(uptime)" "${OPENBLAS_CORETYPE:-}" "${OPENBLAS_L2_SIZE:-}" >"$out"
# The backends besides libtorch this machine can run (the bench pins each in turn; MatMul's own choice is measured too, as "kernel"/"fused").
kernels=""
[[ ",$vector_flags," == *",avx2,"* && ",$vector_flags," == *",fma,"* ]] && kernels="avx2"
[[ ",$vector_flags," == *",avx512f,"* ]] && kernels="$kernels avx512"
# OpenBLAS through MatMul (installed above; the same library PyTorch uses here).
ldconfig -p | grep "libopenblas.so.0 " >/dev/null && kernels="$kernels openblas"
for ((r = 1; r <= rounds; r++)); do
  echo "round $r/$rounds: $(uptime)" >&2
  py matmul - "$threads" 3
  # libtorch's own product, MatMul's choice on this machine, and every kernel this CPU can run, pinned.
  for dt in float64 float32; do
    net matmul - - "$dt" "$threads" 3
    net matmul - kernel "$dt" "$threads" 3
    for k in $kernels; do net matmul - "$k" "$dt" "$threads" 3; done
  done
  for s in $settings; do
    a=$(steps attack "$s"); t=$(steps train "$s")
    # A/B interleaved: PyTorch, then each TorchSharp variant, then PyTorch again in the next round.
    py attack "$s" "$threads" "$a"
    net attack "$s" autograd float64 "$threads" "$a"
    net attack "$s" closedform float64 "$threads" "$a"
    net attack "$s" fused-libtorch float64 "$threads" "$a"
    net attack "$s" fused float64 "$threads" "$a"
    for k in $kernels; do net attack "$s" "fused-$k" float64 "$threads" "$a"; done
    net attack "$s" fused float32 "$threads" "$a"
    if [[ -n "$products" ]]; then
      case "$s" in small) measure env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE STEP_PRODUCTS_THREADS="$threads" "$products" 784-400-1 40 "$a" small ;;
                   reference) measure env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE STEP_PRODUCTS_THREADS="$threads" "$products" 784-1000-1000-1 1000 "$a" reference ;; esac
    fi
    py train "$s" "$threads" "$t"
    net train "$s" closedform-libtorch float64 "$threads" "$t"
    net train "$s" closedform float64 "$threads" "$t"
    for k in $kernels; do net train "$s" "closedform-$k" float64 "$threads" "$t"; done
    net train "$s" closedform float32 "$threads" "$t"
  done
done
# float32 vs float64 results after N steps (attack via ReconstructionAttack.Run, training via GradientDescent.Train).
for s in $settings; do
  case "$s" in small) n=300 ;; *) n=5 ;; esac
  net accuracy "$s" - - "$threads" "$n"
done
echo "finished: $(uptime)" >&2
python3 bench/report.py "$out"
