#!/bin/sh
# Container entrypoint: run one Hotline service in the foreground as PID 1.
#
#   docker run IMAGE intake [ARGS...]          service as first argument
#   docker run -e SERVICE=intake IMAGE [ARGS...]
#   docker run IMAGE hotline ...               any other command runs as given
#                                              (the CLI, hotline-selftest, sh)
# The service gets `-c /etc/hotline/$HOTLINE_CONFIG_NAME` (default ward-31001.cfg; an
# absolute path is used as is) followed by ARGS. `exec` replaces this shell, so
# SIGTERM from `docker stop` reaches the service itself.
set -eu

SERVICES="intake routing deadline-watcher notification archive web"

is_service() {
    case " $SERVICES " in *" $1 "*) return 0 ;; esac
    return 1
}

if [ $# -gt 0 ] && is_service "$1"; then
    SERVICE=$1
    shift
elif [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
    # Not a service and not an option: a command (hotline, sh, ...).
    exec "$@"
fi

SERVICE=${SERVICE:-}
if [ -z "$SERVICE" ]; then
    echo "docker-entrypoint: no service: set SERVICE or pass one of: $SERVICES" >&2
    exit 64
fi
if ! is_service "$SERVICE"; then
    echo "docker-entrypoint: unknown service '$SERVICE' (one of: $SERVICES)" >&2
    exit 64
fi

config=${HOTLINE_CONFIG_NAME:-ward-31001.cfg}
case "$config" in
    /*) ;;
    *)  config=/etc/hotline/$config ;;
esac
if [ ! -r "$config" ]; then
    echo "docker-entrypoint: config '$config' not readable (set HOTLINE_CONFIG_NAME or mount it)" >&2
    # shellcheck disable=SC2046  # list the names on one line
    echo "docker-entrypoint: configs in /etc/hotline:" $(cd /etc/hotline 2>/dev/null && ls -- *.cfg 2>/dev/null) >&2
    exit 78
fi

exec "hotline-$SERVICE" -c "$config" "$@"
