#!/bin/bash
# The Home Assistant users run today needs Python >= 3.14.2; these machines have 3.13. Debian's
# unstable suite has python3.14: a minimal debootstrap of it, with HA's test venv in /opt/ha,
# cached under ~/.cache/automationone/ and keyed by the pinned requirements.
#
#   current_ha.sh build                      create the chroot unless it is cached
#   current_ha.sh demo-deps                  add the demo's requirements (the frontend)
#   current_ha.sh bench-deps                 add the benchmarks' (their anchors' libraries)
#   current_ha.sh run [--monotonic S] CMD    run CMD (sh -c) in the chroot, in the repository;
#                                            --monotonic S: in a time namespace whose
#                                            monotonic clock started S seconds ago
#
# /proc, /dev and the repository are mounted in a private mount namespace of the command, so
# nothing stays mounted when it ends (however it ends). Needs root (CI and these machines).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
REQUIREMENTS=$REPO/requirements_test_current.txt
DEMO_REQUIREMENTS=$REPO/requirements_demo_current.txt
BENCH_REQUIREMENTS=$REPO/requirements_bench_current.txt
# mosquitto for the real-broker tests; libmosquitto1 and libcjson1 run the host-built virtual-esp.
DEBS="python3.14 python3.14-venv ca-certificates mosquitto libmosquitto1 libcjson1"
CACHE=${AUTOMATIONONE_CACHE:-$HOME/.cache/automationone}
KEY=$( (cat "$REQUIREMENTS"; echo "$DEBS") | sha256sum | cut -c1-12)
ROOT=$CACHE/sid-$KEY
ENV=(/usr/bin/env -i PATH=/opt/ha/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8)

# in_root ROOT UNSHARE_ARGS... -- CMD: CMD as sh -c in the chroot at ROOT, cwd the repository.
in_root() {
  local root=$1; shift
  local args=()
  while [ "$1" != "--" ]; do args+=("$1"); shift; done
  shift
  # --kill-child: stopping this script stops the command too (the demo stops HA that way).
  # `run` execs, so a signal to this script reaches unshare (and through it the command).
  ${EXEC_IN_ROOT:+exec} unshare --mount --propagation private --fork --kill-child=SIGTERM "${args[@]}" /bin/bash -c '
    set -e; root=$1 repo=$2; shift 2
    mount -t proc proc "$root/proc"
    mount --rbind /dev "$root/dev"
    mkdir -p "$root$repo"
    mount --bind "$repo" "$root$repo"
    exec chroot "$root" "$@"' _ "$root" "$REPO" "${ENV[@]}" HA_SUITE="${HA_SUITE:-}" \
    sh -c "cd '$REPO' && $*"
}

mirror() {
  # The machine's own Debian mirror (deb822 sources, or the one-line format).
  local url
  url=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [ -n "$url" ] || url=$(awk '$1=="deb"{print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  echo "${url:-http://deb.debian.org/debian}"
}

build() {
  [ -e "$ROOT/.complete" ] && return
  mkdir -p "$CACHE"
  exec 9>"$ROOT.lock"
  flock 9
  [ -e "$ROOT/.complete" ] && return
  local tmp=$ROOT.tmp started=$SECONDS
  rm -rf "$tmp"
  echo "current HA: debootstrap Debian unstable (python3.14) into $tmp"
  debootstrap --variant=minbase --include="${DEBS// /,}" sid "$tmp" "$(mirror)" >"$CACHE/debootstrap.log" 2>&1 \
    || { tail -20 "$CACHE/debootstrap.log"; exit 1; }
  echo "current HA: debootstrap $((SECONDS - started)) s"
  cp /etc/resolv.conf "$tmp/etc/resolv.conf"
  # The host's bundle: it may trust a proxy the chroot's own bundle does not know.
  cp /etc/ssl/certs/ca-certificates.crt "$tmp/etc/ssl/certs/ca-certificates.crt"
  started=$SECONDS
  in_root "$tmp" -- "python3.14 -m venv /opt/ha && /opt/ha/bin/pip install -q --disable-pip-version-check -r '$REQUIREMENTS'"
  echo "current HA: venv $((SECONDS - started)) s"
  touch "$tmp/.complete"
  mv "$tmp" "$ROOT"
}

# add_requirements NAME FILE [DEBS]: install FILE's requirements (and Debian's DEBS) into the
# chroot's venv once per content of FILE.
add_requirements() {
  build
  local name=$1 requirements=$2 debs=${3:-} stamp apt=""
  stamp=$ROOT/.$name-$(sha256sum <"$requirements" | cut -c1-12)
  [ -e "$stamp" ] && return
  # The mirror may serve an unstable snapshot whose Release file has expired.
  [ -n "$debs" ] && apt="apt-get -qq -o Acquire::Check-Valid-Until=false update && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $debs >/dev/null && "
  in_root "$ROOT" -- "$apt/opt/ha/bin/pip install -q --disable-pip-version-check -r '$requirements'"
  touch "$stamp"
}

# libturbojpeg0: HA's camera helpers (imported by the MQTT integration) log an error without
# it. g++ and python3.14-dev build pymicro-vad and pyspeex-noise (no Python 3.14 wheels; see
# requirements_demo_current.txt).
demo_deps() { add_requirements demo "$DEMO_REQUIREMENTS" "libturbojpeg0 g++ python3.14-dev"; }
bench_deps() { add_requirements bench "$BENCH_REQUIREMENTS"; }

case "${1:-}" in
  build) build ;;
  demo-deps) demo_deps ;;
  bench-deps) bench_deps ;;
  run)
    shift
    build
    args=()
    if [ "${1:-}" = "--monotonic" ]; then
      # CLOCK_MONOTONIC counts from boot: shift it so it reads $2 seconds now.
      uptime=$(cut -d. -f1 /proc/uptime)
      args=(--time --monotonic=$(( $2 - uptime )))
      shift 2
    fi
    EXEC_IN_ROOT=1 in_root "$ROOT" "${args[@]}" -- "$*"
    ;;
  *) echo "usage: $0 build | demo-deps | bench-deps | run [--monotonic SECONDS] CMD" >&2; exit 2 ;;
esac
