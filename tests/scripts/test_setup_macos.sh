#!/usr/bin/env bash
# scripts/setup on a Mac, simulated on Linux: a PATH of fakes where `uname`
# says Darwin and apt-get, dpkg-query and sudo only record that they were
# called. Each case runs the real scripts/setup with nothing else on PATH
# but a few core tools, so no real node, npm, cargo or apt-get is reachable.
#
#   tests/scripts/test_setup_macos.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok: $1"; }
bad() { fail=$((fail + 1)); echo "FAIL: $1"; }

# The core tools scripts/setup may use, linked one by one.
core="$work/core"
mkdir -p "$core"
for t in bash env basename dirname cat grep sed id mkdir rm tr cut head tail wc sort; do
  p=$(command -v "$t") || { echo "test_setup_macos: $t not found" >&2; exit 1; }
  ln -s "$p" "$core/$t"
done

fake() { # fake DIR NAME BODY: an executable DIR/NAME that runs BODY
  printf '#!%s\n%s\n' "$core/bash" "$3" >"$1/$2"
  chmod +x "$1/$2"
}

# make_case NAME TOOLS...: a bin folder with the recorders and the named fakes.
make_case() {
  local d="$work/$1"; shift
  mkdir -p "$d/bin"
  : >"$d/calls"
  local rec="echo \"\$(basename \"\$0\") \$*\" >>'$d/calls'"
  fake "$d/bin" uname "case \"\${1:-}\" in -m) echo arm64;; *) echo Darwin;; esac"
  for t in apt-get dpkg-query sudo; do fake "$d/bin" "$t" "$rec; exit 0"; done
  for t in "$@"; do
    case "$t" in
      xcode-select) fake "$d/bin" xcode-select "$rec; echo /Library/Developer/CommandLineTools" ;;
      cargo) fake "$d/bin" cargo "$rec; exit 0" ;;
      node20) fake "$d/bin" node "$rec; [ \"\${1:-}\" = --version ] && echo v20.11.1; exit 0" ;;
      node16) fake "$d/bin" node "$rec; [ \"\${1:-}\" = --version ] && echo v16.20.2; exit 0" ;;
      npm11) fake "$d/bin" npm "$rec; [ \"\${1:-}\" = --version ] && echo 11.6.2; exit 0" ;;
      npm10) fake "$d/bin" npm "$rec; [ \"\${1:-}\" = --version ] && echo 10.8.2; exit 0" ;;
      *) echo "test_setup_macos: unknown fake $t" >&2; exit 1 ;;
    esac
  done
}

# run_case NAME [ARGS...]: runs scripts/setup; sets rc, out and calls.
run_case() {
  local d="$work/$1"; shift
  mkdir -p "$d/home"
  set +e
  out=$(env -i PATH="$d/bin:$core" HOME="$d/home" XDG_CACHE_HOME="$d/home/.cache" \
    "$core/bash" "$repo/scripts/setup" "$@" 2>&1)
  rc=$?
  set -e
  calls=$(cat "$d/calls")
}

never_apt() {
  if grep -Eq '^(apt-get|dpkg-query|sudo)( |$)' <<<"$calls"; then bad "$1: called ${calls//$'\n'/; }"; else ok "$1: no apt-get, dpkg-query or sudo"; fi
}
says() {
  if grep -qF -- "$2" <<<"$out"; then ok "$1: says '$2'"; else bad "$1: does not say '$2'; it said: $out"; fi
}

# 1. No Xcode command line tools, no Node, no npm (cargo is there, so a
#    Debian-only setup would go on to apt-get).
make_case bare cargo
run_case bare
if ((rc != 0)); then ok "bare: exits non-zero ($rc)"; else bad "bare: exited 0"; fi
says bare "xcode-select --install"
says bare "brew install node"
never_apt bare
if grep -q '^npm ' <<<"$calls"; then bad "bare: ran npm"; else ok "bare: did not build the UI"; fi

# 2. Nothing at all: every missing tool is named, with its remedy.
make_case empty
run_case empty
if ((rc != 0)); then ok "empty: exits non-zero ($rc)"; else bad "empty: exited 0"; fi
says empty "https://rustup.rs"
says empty "xcode-select --install"
never_apt empty

# 3. Everything there: setup reaches the UI build (npm install, npm run build).
make_case full xcode-select cargo node20 npm11
run_case full
if ((rc == 0)); then ok "full: exits 0"; else bad "full: exited $rc: $out"; fi
if grep -q '^npm install' <<<"$calls" && grep -q '^npm run build' <<<"$calls"; then
  ok "full: builds the UI"
else
  bad "full: did not build the UI; calls: ${calls//$'\n'/; }"
fi
never_apt full

# 4. Node too old, npm too old: named with the way to update.
make_case old xcode-select cargo node16 npm10
run_case old
if ((rc != 0)); then ok "old: exits non-zero ($rc)"; else bad "old: exited 0"; fi
says old "v16.20.2"
says old "npm install -g npm@11"
never_apt old

# 5. --test: the suite runs on Debian; say so and fail, installing nothing.
make_case test xcode-select cargo node20 npm11
run_case test --test
if ((rc != 0)); then ok "--test: exits non-zero ($rc)"; else bad "--test: exited 0"; fi
says --test "Debian"
never_apt --test
if grep -Eq '^(cargo|npm) ' <<<"$calls"; then bad "--test: ran ${calls//$'\n'/; }"; else ok "--test: installed and built nothing"; fi

echo "test_setup_macos: $pass passed, $fail failed"
((fail == 0))
