#!/usr/bin/env bash
# Builds the offline bundle: one folder (and its .tar.gz) holding everything `tune` needs on a GPU node that has
# Node.js and Python with torch and Triton, but no Node packages and no registry: the compiled CLI (dist/), its
# production node_modules, the launcher (bin/tune), kernels/, schemas/, the examples and the docs.
#   npm run bundle                             -> bundle/tritune-<version>/ and bundle/tritune-<version>.tar.gz
#   npm run bundle -- --with-servers           also the fetched server sources (.servers/, `npm run setup:servers`),
#                                              which the vllm-moe and sglang-moe families need where the server is
#                                              not installed and PyPI cannot be reached
#   npm run bundle -- --out <dir>              another output folder
# On the node: tar xzf tritune-<version>.tar.gz && node tritune-<version>/bin/tune --help
# Needs no registry: it compiles src/ with the installed TypeScript and prunes a copy of node_modules.
# SOURCE_DATE_EPOCH, when set, pins the file times in the tarball.
set -euo pipefail
cd "$(dirname "$0")/.."
out=bundle
servers=
while [ $# -gt 0 ]; do
  case "$1" in
    --with-servers) servers=${TRITUNE_SERVERS_DIR:-.servers} ;;
    --out) out=${2:?--out needs a folder}; shift ;;
    *) echo "bundle: unknown option $1 (known: --with-servers, --out <dir>)" >&2; exit 2 ;;
  esac
  shift
done
[ -d node_modules ] || { echo "bundle: no node_modules; run npm ci first" >&2; exit 2; }
if [ -n "$servers" ] && [ ! -d "$servers" ]; then
  echo "bundle: --with-servers: $servers does not exist; run npm run setup:servers first" >&2
  exit 2
fi

name="tritune-$(node -p 'require("./package.json").version')"
stage="$out/$name"
rm -rf "$stage" "$out/$name.tar.gz"
mkdir -p "$stage"
# compiled here, not copied from dist/, so a build (or a test run reading dist/) in progress is not disturbed
node_modules/.bin/tsc -p scripts/tsconfig.bundle.json --outDir "$stage/dist"
cp -r bin kernels schemas examples docs README.md package.json package-lock.json "$stage/"
cp -r node_modules "$stage/"
(cd "$stage" && npm prune --omit=dev --ignore-scripts --offline --no-audit --no-fund --silent)
rm -rf "$stage/node_modules/.bin"
find "$stage/node_modules" -type d -empty -delete
find "$stage" \( -name __pycache__ -o -name '*.pyc' \) -prune -exec rm -rf {} +
if [ -n "$servers" ]; then cp -r "$servers" "$stage/.servers"; fi

tar_opts=(--sort=name --owner=0 --group=0 --numeric-owner)
if [ -n "${SOURCE_DATE_EPOCH:-}" ]; then tar_opts+=(--mtime="@$SOURCE_DATE_EPOCH"); fi
tar -C "$out" "${tar_opts[@]}" -cf - "$name" | gzip -n > "$out/$name.tar.gz"
echo "bundle: $out/$name.tar.gz ($(du -h "$out/$name.tar.gz" | cut -f1)), unpacked in $stage/"
echo "bundle: on the node: tar xzf $name.tar.gz && node $name/bin/tune --help"
