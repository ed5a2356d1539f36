#!/usr/bin/env bash
# Starts the workbook's C# kernel for Jupyter (argv of kernel.json beside this file; Jupyter passes the connection file).
# NOPRIOR_KERNEL_DLL overrides which build runs (the tests point it at their own Debug/Release build).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../.." && pwd)"
dll="${NOPRIOR_KERNEL_DLL:-$root/artifacts/bin/NoPrior.Kernel/release/NoPrior.Kernel.dll}"
if [ ! -f "$dll" ]; then
  echo "kernel: $dll not found; build it first: dotnet build $root/lib/NoPrior.Kernel -c Release (or ./workbook notebook)" >&2
  exit 1
fi
# See ./workbook: libgomp must not spin-wait when cores are shared.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
exec dotnet "$dll" "$@"
