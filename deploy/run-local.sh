#!/usr/bin/env bash
#   deploy/run-local.sh — `make run`: the main job on this machine.
#
#   Starts the city aggregator and the ward nodes whose configuration files
#   are listed below (deploy/config/*.cfg), every service of each as its own
#   process, in the foreground until Ctrl-C or SIGTERM. Data lives under
#   var/<node>/ (SQLite files), logs under var/log/. A local SMTP catcher
#   (aiosmtpd, if installed) keeps every e-mail in var/mail/ for the demo.
#   `hotline nodes` lists the nodes; `hotline --node NAME ...` talks to one.
set -u
cd "$(dirname "$0")/.."
NODES=${HOTLINE_NODES_LIST:-"city ward-31001 ward-31002"}
SERVICES="archive intake routing deadline-watcher notification web"
BUILD=${BUILD:-build}
#   var/mail is a Maildir: aiosmtpd's Mailbox handler (mailbox.Maildir)
#   creates tmp/new/cur only when the folder does not exist yet, so a plain
#   var/mail (as this script once made) failed every message with
#   FileNotFoundError .../tmp/...; mkdir -p also repairs such a folder
mkdir -p var/log var/mail/tmp var/mail/new var/mail/cur
pids=()

stop() {
    echo
    echo "run: stopping (SIGTERM)..."
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
    echo "run: stopped"
    exit 0
}
trap stop INT TERM

#   Keys for the ward<->city links (CurveZMQ), made once
if [ -x "$BUILD/hotline" ] && "$BUILD/hotline" help 2>/dev/null | grep -q "keys"; then
    "$BUILD/hotline" keys init --dir var/keys --wards "31001 31002" >/dev/null || exit 1
fi

#   The nodes file the CLI reads for --node and `hotline nodes`
{
    echo "#   Written by make run"
    echo "nodes"
    for node in $NODES; do
        cfg=deploy/config/$node.cfg
        role=$(awk '/^ *role *=/ {print $3; exit}' "$cfg")
        port=$(awk '/^ *base_port *=/ {print $3; exit}' "$cfg")
        echo "    $node"
        echo "        role = $role"
        echo "        endpoint = tcp://127.0.0.1:$((port + 1))"
        echo "        web = http://127.0.0.1:$((port + 10))/"
        echo "        config = $PWD/$cfg"       #   for hotline --node N user|backup|restore
    done
} > var/nodes.cfg

#   The catcher listens where the first node's notify/smtp_url sends
#   (127.0.0.1:2525 in deploy/config), so the two cannot disagree
set -- $NODES
smtp=$(awk '/^ *smtp_url *=/ {print $3; exit}' "deploy/config/$1.cfg")
smtp=${smtp#smtp://}
if /usr/bin/python3 -c "import aiosmtpd" 2>/dev/null; then
    /usr/bin/python3 -m aiosmtpd -n -l "${smtp:-127.0.0.1:2525}" -c aiosmtpd.handlers.Mailbox var/mail \
        >> var/log/smtp.log 2>&1 &
    pids+=($!)
fi

#   The web console's first admin, once per node: a random password, in
#   var/<node>/web-admin.txt (mode 0600), only while its web.db has no users
for node in $NODES; do
    mkdir -p "var/$node"
    "$BUILD/hotline-web" -c "deploy/config/$node.cfg" --init-admin "var/$node/web-admin.txt" \
        >> "var/log/$node-web.log" 2>&1 || echo "run: $node: could not create the web console's first admin (var/log/$node-web.log)"
done

for node in $NODES; do
    for service in $SERVICES; do
        "$BUILD/hotline-$service" -c "deploy/config/$node.cfg" >> "var/log/$node-$service.log" 2>&1 &
        pids+=($!)
    done
done

sleep 1
for node in $NODES; do
    if "$BUILD/hotline" --node "$node" --tries 3 --timeout 1000 ping >/dev/null 2>&1; then
        echo "run: $node up"
    else
        echo "run: $node did not answer; see var/log/$node-*.log"
    fi
done
echo
echo "The web console of each node (log in with the user and password in the file):"
for node in $NODES; do
    port=$(awk '/^ *base_port *=/ {print $3; exit}' "deploy/config/$node.cfg")
    printf '    %-12s http://127.0.0.1:%d/    %s\n' "$node" $((port + 10)) "$PWD/var/$node/web-admin.txt"
done
cat <<MSG

Hotline is running: $NODES (logs in var/log/, data in var/, mail in var/mail/).
Try, in another terminal:
    build/hotline submit --phone 0912345678 --type waste_water \\
        --location "Kênh Xáng, tổ 5" --description "Nước thải đen chảy ra kênh"
    build/hotline list
    build/hotline nodes
Ctrl-C stops everything.
MSG
wait
