#!/usr/bin/env bash
# Builds .devbundle/ (git-ignored): the compiled CLI (dist/, bin/) with its production node_modules, to carry to
# the GPU machine, which has no Node packages and no registry. Node itself: /work/shared/device/pack-node.sh
# makes .devnode/. Then, in the device command: source .devnode/env.sh && node .devbundle/bin/tune ...
# (the CLI finds kernels/ by walking up from .devbundle/dist/src/runner to the repository root).
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build --silent
rm -rf .devbundle
mkdir -p .devbundle
cp -r dist bin package.json package-lock.json .devbundle/
rm -rf .devbundle/dist/test .devbundle/dist/scripts
find .devbundle/dist -name '*.map' -delete
tmp=$(mktemp -d)
cp package.json package-lock.json "$tmp/"
if (cd "$tmp" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --prefer-offline >/dev/null 2>&1); then
  mv "$tmp/node_modules" .devbundle/
else
  # no registry: the development tree minus the development-only packages
  echo "pack-device: npm ci --omit=dev failed; copying node_modules without its dev-only packages" >&2
  cp -r node_modules .devbundle/
  rm -rf .devbundle/node_modules/typescript .devbundle/node_modules/@types .devbundle/node_modules/.bin
fi
rm -rf "$tmp"
echo "pack-device: $(du -sh .devbundle | cut -f1) in .devbundle/"
