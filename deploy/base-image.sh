#!/bin/bash
# Build Hotline's Docker base images locally with debootstrap, for machines that
# have a Docker engine and a Debian mirror but no image registry.
#
#   deploy/base-image.sh            build whichever of the three images is missing
#   deploy/base-image.sh --force    rebuild all three (debootstrap tarballs are reused)
#   deploy/base-image.sh --no-upgrade   skip folding in bookworm-updates/-security
#   deploy/base-image.sh debian:bookworm-slim   build only the images named
#   deploy/base-image.sh hotline-demo:bookworm  the optional demo image (only when named)
#
# Images (all Debian bookworm, debootstrap --variant=minbase, slimmed like the
# official images: no docs/man/locales, apt caches cleaned after every install):
#   debian:bookworm-slim      plain minbase; same name as the official image, so
#                             deploy/Dockerfile works unchanged where it can be pulled
#   hotline-build:bookworm    minbase + every package `deploy/deps.sh --build-only` checks
#   hotline-runtime:bookworm  minbase + the shared libraries of `deploy/deps.sh --runtime-only`
#   hotline-demo:bookworm     minbase + python3-aiosmtpd: the SMTP catcher of
#                             docker-compose.yml's "demo" profile (built only when named)
# Then, with no network needed inside the build:
#   DOCKER_BUILDKIT=0 docker build -f deploy/Dockerfile \
#       --build-arg BUILD_IMAGE=hotline-build:bookworm \
#       --build-arg RUNTIME_IMAGE=hotline-runtime:bookworm -t hotline:dev .
#
# Idempotent: an image that `docker image inspect` finds is left alone. The
# .debs debootstrap fetches are kept as tarballs in $HOTLINE_DEBOOTSTRAP_CACHE
# (default /var/cache/hotline-debootstrap), keyed by suite, mirror and package
# list, so a rebuild does not download them again; updates from bookworm-updates
# and bookworm-security are applied on top with apt (their .debs cached there too).
#
# The mirror is the one apt uses on this machine (/etc/apt/sources.list{,.d}),
# or $HOTLINE_MIRROR / $HOTLINE_SECURITY_MIRROR; failing both, debootstrap's default.
# Needs root (or sudo), debootstrap, and the mirror reachable.
set -euo pipefail

SUITE=bookworm
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${HOTLINE_DEBOOTSTRAP_CACHE:-/var/cache/hotline-debootstrap}
ALL_IMAGES=(debian:bookworm-slim hotline-build:bookworm hotline-runtime:bookworm)
OPTIONAL_IMAGES=(hotline-demo:bookworm)

force=0
upgrade=1
images=()
for arg in "$@"; do
    case "$arg" in
        --force)      force=1 ;;
        --no-upgrade) upgrade=0 ;;
        -h|--help)    sed -n '2,34s/^# \{0,1\}//p' "$0"; exit 0 ;;
        -*) echo "base-image.sh: unknown option '$arg'" >&2; exit 2 ;;
        *)  case " ${ALL_IMAGES[*]} ${OPTIONAL_IMAGES[*]} " in
                *" $arg "*) images+=("$arg") ;;
                *) echo "base-image.sh: unknown image '$arg' (one of: ${ALL_IMAGES[*]} ${OPTIONAL_IMAGES[*]})" >&2; exit 2 ;;
            esac ;;
    esac
done
[ ${#images[@]} -gt 0 ] || images=("${ALL_IMAGES[@]}")

if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "base-image.sh: needs root (debootstrap, chroot)" >&2; exit 1; }
    exec sudo -E "$0" "$@"
fi

say() { printf 'base-image: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

command -v docker >/dev/null 2>&1 || die "docker not found"
docker info >/dev/null 2>&1 || die "cannot talk to the Docker engine"

# One run at a time (two sessions sharing the cache and the image names).
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock -w 3600 9 || die "another base-image.sh holds $CACHE/.lock"

# Which images are still to build?
todo=()
for img in "${images[@]}"; do
    if [ "$force" = 0 ] && docker image inspect "$img" >/dev/null 2>&1; then
        continue
    fi
    todo+=("$img")
done
[ ${#todo[@]} -gt 0 ] || exit 0

if ! command -v debootstrap >/dev/null 2>&1; then
    # debootstrap is one of deps.sh's test packages; install only it.
    DEBIAN_FRONTEND=noninteractive apt-get -q -y -o DPkg::Lock::Timeout=600 update >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get -q -y -o DPkg::Lock::Timeout=600 \
        install --no-install-recommends debootstrap >/dev/null
fi

# --- mirror: the one apt uses here --------------------------------------------
# Prints "URI<TAB>SUITES" for every enabled Debian source on this machine.
apt_sources() {
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -r "$f" ] || continue
        # deb822: blank-line separated stanzas
        awk 'BEGIN { RS=""; FS="\n" }
             { uris=""; suites=""; types=""; enabled="yes"
               for (i = 1; i <= NF; i++) {
                 line = $i; if (line ~ /^#/) continue
                 split(line, kv, ":"); key = tolower(kv[1]); sub(/^[^:]*:[ \t]*/, "", line)
                 if (key == "uris") uris = line; else if (key == "suites") suites = line
                 else if (key == "types") types = line; else if (key == "enabled") enabled = tolower(line) }
               if (enabled == "no" || types !~ /(^| )deb( |$)/) next
               n = split(uris, u, /[ \t]+/)
               for (j = 1; j <= n; j++) if (u[j] != "") print u[j] "\t" suites }' "$f"
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -r "$f" ] || continue
        # one-line style: deb [opts] URI SUITE COMPONENTS...
        sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" | awk '$1 == "deb" { print $2 "\t" $3 }'
    done
}

detect_mirror() {   # $1 = suite word to look for
    apt_sources | awk -F '\t' -v want="$1" '
        { n = split($2, s, /[ \t]+/); for (i = 1; i <= n; i++) if (s[i] == want) { print $1; exit } }' |
        sed 's:/*$::'
}

MIRROR=${HOTLINE_MIRROR:-$(detect_mirror "$SUITE" || true)}
SECURITY_MIRROR=${HOTLINE_SECURITY_MIRROR:-$(detect_mirror "$SUITE-security" || true)}
if [ -z "$MIRROR" ]; then
    say "no Debian $SUITE source in /etc/apt; using debootstrap's default mirror (set HOTLINE_MIRROR to choose)"
fi

# --- package lists: one source of truth, deploy/deps.sh ---------------------
BUILD_PKGS=$(sh "$HERE/deps.sh" --build-only --list)
RUNTIME_PKGS=$(sh "$HERE/deps.sh" --runtime-only --list)

includes_for() {
    case "$1" in
        debian:bookworm-slim)      echo "" ;;
        hotline-build:bookworm)    echo "$BUILD_PKGS $RUNTIME_PKGS" ;;
        hotline-runtime:bookworm)  echo "$RUNTIME_PKGS" ;;
        hotline-demo:bookworm)     echo "python3-aiosmtpd" ;;
    esac
}

# --- work area and cleanup -----------------------------------------------------
mkdir -p "$CACHE/archives/partial"
WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/hotline-rootfs.XXXXXX")

unmount_under() {   # unmount everything mounted at or below $1, deepest first
    local dir mp
    dir=$(realpath "$1")
    for mp in $(awk -v d="$dir" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/mounts | sort -r); do
        umount "$mp" 2>/dev/null || umount -l "$mp" || true
    done
}

cleanup() {
    unmount_under "$WORK"
    # never rm -rf through a bind mount of the package cache
    if awk -v d="$(realpath "$WORK")" 'index($2, d "/") == 1 { found = 1 } END { exit !found }' /proc/mounts; then
        say "warning: mounts remain under $WORK; not deleting it"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- one image ---------------------------------------------------------------------
slim_rootfs() {   # $1 = rootfs: what the official debian:*-slim images do
    local root=$1
    cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
# Like the official slim images: no documentation, manuals or translations.
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
EOF
    cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
# Keep no .debs or package caches in image layers (as in the official images).
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
    cat >"$root/etc/apt/apt.conf.d/docker-no-languages" <<'EOF'
Acquire::Languages "none";
EOF
    cat >"$root/etc/apt/apt.conf.d/docker-gzip-indexes" <<'EOF'
Acquire::GzipIndexes "true";
Acquire::CompressionTypes::Order:: "gz";
EOF
    cat >"$root/etc/apt/apt.conf.d/docker-autoremove-suggests" <<'EOF'
Apt::AutoRemove::SuggestsImportant "false";
EOF
    # No daemons may start while a Dockerfile installs packages.
    printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
    chmod 755 "$root/usr/sbin/policy-rc.d"

    find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
    find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
    rm -rf "$root"/usr/share/{groff,info,linda,lintian/overrides,locale,man}/* 2>/dev/null || true
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin \
           "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/archives/partial/* \
           "$root"/var/cache/debconf/*-old "$root"/var/lib/dpkg/*-old \
           "$root"/var/log/apt/* "$root"/var/log/dpkg.log "$root"/var/log/bootstrap.log \
           "$root"/var/log/alternatives.log "$root"/tmp/* "$root"/var/tmp/* "$root"/root/.bash_history
    : >"$root/etc/machine-id" 2>/dev/null || true
    # Containers get their own resolver config and hostname from the engine.
    rm -f "$root/etc/resolv.conf" "$root/etc/hostname"
}

write_sources() {   # $1 = rootfs; the suite's updates and security, deb822 like the official image
    local root=$1 mirror=$MIRROR security=$SECURITY_MIRROR
    if [ -z "$mirror" ]; then   # debootstrap's default: read back what it wrote
        mirror=$(awk '$1 == "deb" { print $2; exit }' "$root/etc/apt/sources.list")
    fi
    [ -n "$security" ] || security="${mirror%/}-security"
    rm -f "$root/etc/apt/sources.list"
    cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
}

upgrade_rootfs() {   # $1 = rootfs: fold in bookworm-updates and bookworm-security
    local root=$1 rc=0
    cp -L /etc/resolv.conf "$root/etc/resolv.conf"
    mount -t proc proc "$root/proc"
    mount --bind "$CACHE/archives" "$root/var/cache/apt/archives"
    # Removes nothing and asks nothing. The .debs stay in $CACHE/archives.
    chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
        sh -c 'apt-get -q -y -o Dpkg::Use-Pty=0 update &&
               apt-get -q -y -o Dpkg::Use-Pty=0 -o Dpkg::Options::=--force-confold upgrade' \
        >"$WORK/upgrade.log" 2>&1 || rc=$?
    unmount_under "$root"
    if [ $rc -ne 0 ]; then
        cat "$WORK/upgrade.log" >&2
        die "apt-get upgrade in the new rootfs failed (use --no-upgrade to skip updates)"
    fi
    grep -E '^[0-9]+ upgraded' "$WORK/upgrade.log" | sed 's/^/base-image:   /' >&2 || true
}

build_image() {   # $1 = image name
    local img=$1 includes key tarball root t0 old_id args=()
    t0=$SECONDS
    includes=$(includes_for "$img" | tr -s ' \n' '\n' | sed '/^$/d' | sort -u | paste -sd, -)
    key=$(printf '%s\n' "$SUITE" "$(dpkg --print-architecture)" "${MIRROR:-default}" minbase "$includes" |
          sha256sum | cut -c1-12)
    tarball="$CACHE/${img%%:*}-$SUITE-$key.tgz"
    args=(--variant=minbase --merged-usr)
    [ -z "$includes" ] || args+=("--include=$includes")

    if [ ! -s "$tarball" ]; then
        say "$img: fetching packages into $tarball"
        rm -rf "$WORK/fetch"
        if ! debootstrap "${args[@]}" --make-tarball="$tarball.part" "$SUITE" "$WORK/fetch" \
                ${MIRROR:+"$MIRROR"} >"$WORK/debootstrap.log" 2>&1; then
            cat "$WORK/debootstrap.log" >&2
            rm -f "$tarball.part"
            die "debootstrap could not fetch packages for $img (is the mirror reachable?)"
        fi
        mv "$tarball.part" "$tarball"
        rm -rf "$WORK/fetch"
    fi

    root="$WORK/${img%%:*}"
    rm -rf "$root"
    say "$img: debootstrap --variant=minbase${includes:+ --include=$includes}"
    if ! debootstrap "${args[@]}" --unpack-tarball="$tarball" "$SUITE" "$root" \
            ${MIRROR:+"$MIRROR"} >"$WORK/debootstrap.log" 2>&1; then
        cat "$WORK/debootstrap.log" >&2
        die "debootstrap failed for $img (tarball $tarball; delete it to fetch again)"
    fi
    unmount_under "$root"   # debootstrap may leave /proc or /sys mounted on failure paths

    write_sources "$root"
    if [ "$upgrade" = 1 ]; then
        upgrade_rootfs "$root"
    fi
    slim_rootfs "$root"

    say "$img: docker import"
    old_id=$(docker image inspect -f '{{.Id}}' "$img" 2>/dev/null || true)
    tar --numeric-owner --xattrs -C "$root" -c . |
        docker import \
            --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
            --change 'CMD ["bash"]' \
            --change "LABEL org.opencontainers.image.description=\"Debian $SUITE minbase built by hotline deploy/base-image.sh\"" \
            --change "LABEL hotline.debootstrap.packages=\"${includes:-minbase}\"" \
            --message "deploy/base-image.sh: debootstrap --variant=minbase $SUITE" \
            - "$img" >/dev/null
    rm -rf "$root"
    # --force: drop the image this one replaces, unless something still uses it
    if [ -n "$old_id" ] && [ "$old_id" != "$(docker image inspect -f '{{.Id}}' "$img")" ]; then
        docker image rm "$old_id" >/dev/null 2>&1 || true
    fi
    say "$img: done in $((SECONDS - t0))s, $(docker image inspect -f '{{.Size}}' "$img" |
         awk '{ printf "%.1f MB", $1 / 1e6 }')"
}

total0=$SECONDS
for img in "${todo[@]}"; do
    build_image "$img"
done
say "built ${todo[*]} in $((SECONDS - total0))s"
