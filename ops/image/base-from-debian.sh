#!/usr/bin/env bash
# Makes the Dockerfile's NODE_IMAGE from Debian packages, where no container
# registry can be pulled from (docs/runbook.md "Container image"): a minimal
# Debian bookworm root file system from deb.debian.org (debootstrap), plus
# Node 20 and npm taken from this machine's installed `nodejs` package
# (Debian's own nodejs is 18, below the replica's Node 20.19), imported as
# localhost/vcr-node:20-bookworm. Needs root, debootstrap and podman.
#   ops/image/base-from-debian.sh [tag]
set -euo pipefail
tag="${1:-localhost/vcr-node:20-bookworm}"
node --version | grep -q '^v20\.' || { echo "need Node 20 installed here (node --version: $(node --version))" >&2; exit 1; }
rootfs="$(mktemp -d /tmp/vcr-rootfs.XXXXXX)"
trap 'rm -rf "$rootfs"' EXIT
debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian
# The nodejs package's files (binary, headers for node-gyp), then npm as installed now (it may be newer than the package's).
(cd / && dpkg -L nodejs | while read -r f; do if [ -f "$f" ] || [ -L "$f" ]; then echo "${f#/}"; fi; done) | tar -C / -cf - -T - | tar -C "$rootfs" -xf -
rm -rf "$rootfs/usr/lib/node_modules/npm"
tar -C / -cf - usr/lib/node_modules/npm | tar -C "$rootfs" -xf -
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/bin/npx"
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
tar -C "$rootfs" -c . | podman import --change 'CMD ["node"]' - "$tag"
echo "imported $tag"
