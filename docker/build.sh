#!/usr/bin/env bash
# Build the Docker images densegym runs episodes in (see docker/README.md):
#   densegym/base:bookworm    Debian bookworm with python3, pytest, git, procps, ca-certificates
#   densegym/sandbox:1        the base plus the user `agent` (uid 1000), /workspace and /repo (docker/sandbox.Dockerfile)
#   densegym/densegym:latest  the whole library (--library; docker/densegym.Dockerfile)
# Idempotent: an image that exists is skipped unless --rebuild.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: bash docker/build.sh [--rebuild] [--from-registry] [--library] [--clean] [--help]

Builds densegym's Docker images; an image that already exists is skipped.

  (no option)      the base image densegym/base:bookworm and the sandbox image densegym/sandbox:1
  --rebuild        build the images again even when they exist
  --from-registry  make the base FROM python:3.11-slim-bookworm (needs a registry to pull from) instead of
                   a Debian root file system made with debootstrap (needs root and a Debian mirror)
  --library        also build densegym/densegym:latest, the image that runs the library:
                   docker run --rm densegym/densegym:latest densegym demo
  --clean          remove the densegym images (base, sandbox, library and per-project images) and exit
  --help           this text

Environment:
  DENSEGYM_DEBIAN_MIRROR   the Debian mirror debootstrap uses (default http://deb.debian.org/debian)
  DENSEGYM_BASE_IMAGE      default densegym/base:bookworm
  DENSEGYM_SANDBOX_IMAGE   default densegym/sandbox:1
  DENSEGYM_LIBRARY_IMAGE   default densegym/densegym:latest
  DENSEGYM_LIBRARY_EXTRAS  the library image's extras (default train,sql,search,openai)
USAGE
}

rebuild=false from_registry=false library=false clean=false
for arg in "$@"; do
  case "$arg" in
    --rebuild) rebuild=true ;;
    --from-registry) from_registry=true ;;
    --library) library=true ;;
    --clean) clean=true ;;
    -h|--help) usage; exit 0 ;;
    *) echo "build.sh: unknown option: $arg" >&2; usage >&2; exit 2 ;;
  esac
done

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
mirror="${DENSEGYM_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
base_image="${DENSEGYM_BASE_IMAGE:-densegym/base:bookworm}"
sandbox_image="${DENSEGYM_SANDBOX_IMAGE:-densegym/sandbox:1}"
library_image="${DENSEGYM_LIBRARY_IMAGE:-densegym/densegym:latest}"

say() { echo "build.sh: $*"; }
die() { echo "build.sh: error: $*" >&2; exit 1; }
run() { echo "+ $*"; "$@"; }
exists() { docker image inspect "$1" >/dev/null 2>&1; }

command -v docker >/dev/null 2>&1 || die "docker is not installed (Debian: apt-get install docker.io)"
docker info >/dev/null 2>&1 || die "the Docker daemon is not reachable (start it: bash .ci/docker-daemon start)"

# Two builds at once (two `make test`s) would race on the same tags: one at a time.
if command -v flock >/dev/null 2>&1; then
  exec 9>"${TMPDIR:-/tmp}/densegym-docker-build.lock"
  flock 9
fi

if $clean; then
  # The namespace of the sandbox image (densegym/): per-project images built FROM it share it.
  prefix="${sandbox_image%%/*}/"
  mapfile -t images < <(docker images --format '{{.Repository}}:{{.Tag}}' | awk -v p="$prefix" 'index($0, p) == 1 && !/:<none>$/')
  for img in "$library_image" "$sandbox_image" "$base_image"; do
    exists "$img" && images+=("$img")
  done
  if [ ${#images[@]} -eq 0 ]; then
    say "no ${prefix%/} images to remove"
  else
    mapfile -t images < <(printf '%s\n' "${images[@]}" | sort -u)
    run docker rmi "${images[@]}"
  fi
  exit 0
fi

tmp=""
cleanup() {
  [ -n "$tmp" ] && [ -d "$tmp" ] || return 0
  # debootstrap mounts /proc and /sys in the tree; a failed run may leave them: unmount before removing
  awk -v t="$tmp/" 'index($2, t) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do umount -l "$m" || true; done
  rm -rf --one-file-system "$tmp"
}
trap cleanup EXIT

build_base_debootstrap() {
  [ "$(id -u)" -eq 0 ] || die "debootstrap needs root (or use --from-registry on a machine that can pull images)"
  command -v debootstrap >/dev/null 2>&1 || die "debootstrap is not installed (Debian: apt-get install debootstrap)"
  tmp="$(mktemp -d "${TMPDIR:-/tmp}/densegym-rootfs.XXXXXX")"
  say "making a Debian bookworm root file system in $tmp from $mirror (a few minutes)"
  local cmd=(debootstrap --variant=minbase --include=python3,python3-pytest,git,procps,ca-certificates
    bookworm "$tmp/root" "$mirror")
  echo "+ ${cmd[*]} >$tmp/debootstrap.log"
  "${cmd[@]}" >"$tmp/debootstrap.log" 2>&1 || {
      tail -n 30 "$tmp/debootstrap.log" >&2; die "debootstrap failed (log above)"; }
  say "cleaning the tree (apt lists and caches, logs, the host's resolv.conf and hostname)"
  rm -rf "$tmp/root"/var/lib/apt/lists/* "$tmp/root"/var/cache/apt/* "$tmp/root"/var/cache/debconf/*-old \
    "$tmp/root"/var/log/* "$tmp/root"/tmp/* "$tmp/root"/var/tmp/*
  mkdir -p "$tmp/root/var/lib/apt/lists/partial" "$tmp/root/var/cache/apt/archives/partial"
  : >"$tmp/root/etc/resolv.conf"; : >"$tmp/root/etc/hostname"  # docker mounts its own over both
  say "importing it as $base_image"
  tar --numeric-owner -C "$tmp/root" -c . | docker import --change 'CMD ["/bin/bash"]' - "$base_image"
  cleanup; tmp=""
}

build_base_registry() {
  say "building $base_image FROM python:3.11-slim-bookworm"
  # --network host: apt-get and pip download git, procps and pytest (there is no bridge network; see README)
  run docker build --force-rm --network host -t "$base_image" - <<'DOCKERFILE'
FROM python:3.11-slim-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends git procps ca-certificates \
 && rm -rf /var/lib/apt/lists/* && pip install --no-cache-dir pytest
CMD ["/bin/bash"]
DOCKERFILE
}

start=$SECONDS
if exists "$base_image" && ! $rebuild; then
  say "skip: $base_image exists (--rebuild builds it again)"
else
  if $from_registry; then build_base_registry; else build_base_debootstrap; fi
  rebuild=true  # the images built FROM the base follow it
fi

if exists "$sandbox_image" && ! $rebuild; then
  say "skip: $sandbox_image exists (--rebuild builds it again)"
else
  say "building $sandbox_image from docker/sandbox.Dockerfile (no network)"
  # the Dockerfile on stdin: no build context, the image copies nothing in
  echo "+ docker build --force-rm --network none --build-arg BASE=$base_image -t $sandbox_image - <docker/sandbox.Dockerfile"
  docker build --force-rm --network none --build-arg "BASE=$base_image" -t "$sandbox_image" - <"$here/sandbox.Dockerfile"
fi

if command -v flock >/dev/null 2>&1; then exec 9>&-; fi  # the library image takes minutes: let others on

if $library; then
  if exists "$library_image" && ! $rebuild; then
    say "skip: $library_image exists (--rebuild builds it again)"
  else
    # build/docker-pip, in the build context: the torch CPU wheel this machine's pip finds (its find-links or
    # extra index, e.g. /opt/wheels), else none and the image's pip takes torch from PyPI; and the CA bundle
    # the host's pip trusts (PIP_CERT or its config), for a machine whose HTTPS to PyPI goes through an
    # intercepting proxy. Neither reaches the final image (docker/densegym.Dockerfile: two stages).
    pipdir="$repo/build/docker-pip"
    rm -rf "$pipdir"; mkdir -p "$pipdir"
    echo "filled by docker/build.sh --library for docker/densegym.Dockerfile" >"$pipdir/README"
    host_pip=()
    if [ -x "$repo/.venv/bin/python" ]; then host_pip=("$repo/.venv/bin/python" -m pip)
    elif python3 -m pip --version >/dev/null 2>&1; then host_pip=(python3 -m pip); fi
    if [ ${#host_pip[@]} -gt 0 ] && "${host_pip[@]}" download --quiet --no-deps --only-binary=:all: \
         --python-version 3.11 --platform manylinux_2_28_x86_64 -d "$pipdir" torch==2.13.0 2>/dev/null \
       && ls "$pipdir"/torch-*+cpu-*.whl >/dev/null 2>&1; then
      say "torch: the local CPU wheel $(basename "$pipdir"/torch-*.whl)"
    else
      rm -f "$pipdir"/*.whl
      say "torch: no local CPU wheel; the image's pip takes torch==2.13.0 from PyPI"
    fi
    cert="${PIP_CERT:-}"
    [ -z "$cert" ] && [ ${#host_pip[@]} -gt 0 ] && cert="$("${host_pip[@]}" config get global.cert 2>/dev/null || true)"
    if [ -n "$cert" ] && [ -s "$cert" ]; then
      cp "$cert" "$pipdir/host-ca.crt"
      say "pip in the build trusts the host's CA bundle $cert"
    fi
    say "building $library_image from docker/densegym.Dockerfile (context: $repo)"
    # --network host: this build alone downloads Python packages (PyPI) and python3-venv (Debian); the
    # daemon has no bridge network (see README), and the images episodes run in are built with --network none
    extras=()
    [ -n "${DENSEGYM_LIBRARY_EXTRAS:-}" ] && extras=(--build-arg "EXTRAS=$DENSEGYM_LIBRARY_EXTRAS")
    run docker build --force-rm --network host --build-arg "BASE=$base_image" "${extras[@]}" -t "$library_image" \
      -f "$here/densegym.Dockerfile" "$repo"
  fi
fi
say "done in $((SECONDS - start))s: $(docker images --format '{{.Repository}}:{{.Tag}} {{.Size}}' \
  | grep -E "^($base_image|$sandbox_image$($library && echo "|$library_image")) " | tr '\n' ' ')"
