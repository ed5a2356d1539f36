#!/usr/bin/env bash
# Jupyter for the workbook, project-local and offline:
#   build/jupyter.sh notebook [args…]   build the kernel (Release) and start Debian's jupyter-notebook on 127.0.0.1
#   build/jupyter.sh env                print the environment that makes Jupyter find the .net-csharp kernel
#   build/jupyter.sh <command> [args…]  run any command (jupyter nbconvert, python3 -m unittest…) in that environment
# Every Jupyter path points inside the repository (kernel spec: build/jupyter; data, runtime, config: out/jupyter),
# so nothing is read from or written to the user's own Jupyter configuration.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export JUPYTER_PATH="$root/build/jupyter"
export JUPYTER_DATA_DIR="$root/out/jupyter/data"
export JUPYTER_RUNTIME_DIR="$root/out/jupyter/runtime"
export JUPYTER_CONFIG_DIR="$root/out/jupyter/config"
export IPYTHONDIR="$root/out/jupyter/ipython"
export JUPYTER_PLATFORM_DIRS=0
mkdir -p "$JUPYTER_DATA_DIR" "$JUPYTER_RUNTIME_DIR" "$JUPYTER_CONFIG_DIR" "$IPYTHONDIR"

cmd="${1:-notebook}"
shift || true
case "$cmd" in
  env)
    env | grep -E '^(JUPYTER_|IPYTHONDIR=)' | sort
    ;;
  notebook)
    if ! command -v jupyter-notebook >/dev/null 2>&1; then
      echo "jupyter.sh: jupyter-notebook not found; install it: apt-get install -y jupyter-notebook (or ./workbook setup)" >&2
      exit 1
    fi
    # Build quietly: its warnings would scroll the server's URL away; the whole log is shown only if the build fails.
    log="$(mktemp)"
    if ! dotnet build "$root/lib/NoPrior.Kernel/NoPrior.Kernel.csproj" -c Release --nologo -v quiet -clp:NoSummary >"$log" 2>&1; then
      cat "$log" >&2; rm -f "$log"
      echo "jupyter.sh: building the kernel failed (output above)." >&2
      exit 2
    fi
    rm -f "$log"
    # jupyter-notebook refuses to run as root (CI, containers) unless told.
    as_root=(); [ "$(id -u)" -eq 0 ] && as_root=(--allow-root)
    # Loopback only; no browser (the URL with its token is printed); the notebooks folder as the tree's root unless
    # another is given (e.g. --notebook-dir=out/notebooks for the executed copies, signed by the runner so they open
    # trusted: their key and signature database are in $JUPYTER_DATA_DIR). Jupyter refuses a repeated --notebook-dir.
    tree=(--notebook-dir="$root/notebooks")
    for a in "$@"; do case "$a" in --notebook-dir|--notebook-dir=*|--NotebookApp.notebook_dir|--NotebookApp.notebook_dir=*) tree=() ;; esac; done
    exec jupyter-notebook --ip=127.0.0.1 --no-browser "${as_root[@]}" "${tree[@]}" \
      --MappingKernelManager.default_kernel_name=.net-csharp "$@"
    ;;
  *)
    exec "$cmd" "$@"
    ;;
esac
