#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks for this workbook and restores the NuGet packages.
# Idempotent: installs only missing Debian packages; safe to run before every command.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v dotnet >/dev/null 2>&1; then
  echo "setup: the .NET 10 SDK is required (dotnet not found on PATH)." >&2
  exit 1
fi
major=$(dotnet --version | cut -d. -f1)
if [ "$major" -lt 10 ]; then
  echo "setup: the .NET 10 SDK is required, found $(dotnet --version)." >&2
  exit 1
fi

# Debian packages: g++ builds the TorchSharp error guard (build/TorchSharpErrorGuard.cpp); python3-nbformat validates executed notebooks in the tests; the Jupyter kernel's tests use
# Jupyter's kernel conformance suite, nbconvert, the classic notebook server and headless Chromium.
packages=(g++ python3-nbformat python3-nbclient python3-jupyter-client python3-jupyter-kernel-test jupyter-nbconvert jupyter-notebook chromium)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# libjs-mathjax (MathJax 2.7) typesets the HTML pages' math offline (the runner copies it beside them); Chromium also
# draws the static fallback image of each chart in executed notebooks.
dpkg-query -W -f='${Status}' libjs-mathjax 2>/dev/null | grep -q "install ok installed" || missing+=(libjs-mathjax)
# Slurm and munge: `workbook sweep --scheduler slurm` submits to a cluster with them, and the sweep tests start a
# single-node one on localhost (tests/NoPrior.Notebooks.Tests/Slurm/single-node.sh). Without recommends: the plugins
# the workbook needs (auth/munge, select/cons_tres, proctrack/linuxproc) are in slurm-wlm-basic-plugins, a dependency;
# the recommended ones would add two dozen packages. Their services stay down without /etc/slurm/slurm.conf.
# libopenblas0-pthread: OpenBLAS, one of the matrix-product backends MatMul calibrates between (it was the fastest on
# AMD Zen 3 here, where libtorch's oneMKL takes a generic path; lib/NoPrior/LinearAlgebra/OpenBlas.cs).
lean=()
for p in slurm-wlm munge libopenblas0-pthread; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || lean+=("$p")
done
if [ $((${#missing[@]} + ${#lean[@]})) -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null 2>&1; then sudo="sudo"; else sudo="none"; fi
  if [ "$sudo" = "none" ]; then
    echo "setup: please install these Debian packages: ${missing[*]} ${lean[*]}" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]} ${lean[*]}"
  $sudo apt-get update -qq
  [ ${#missing[@]} -eq 0 ] || DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  [ ${#lean[@]} -eq 0 ] || DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${lean[@]}" >/dev/null
fi

# NuGet restore (first time: ~650 MB, mostly libtorch). TorchSharp's native load fix is applied by the
# build itself (build/TorchSharpLoadFix.targets), not here.
dotnet restore Workbook.sln --verbosity quiet
