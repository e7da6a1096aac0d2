#!/usr/bin/env bash
# Start the CbM JupyterHub (and the REST API it points notebooks and dashboards at) on loopback.
#
#   scripts/hub.sh            what `make hub` runs; Ctrl-C stops hub, servers and API
#
# Needs: the virtualenv (make setup), configurable-http-proxy in var/node (npm, see `make hub`),
# the database (embedded cluster started here, or CBM_DATABASE_URL). In demo mode
# (CBM_DEMO_MODE=true) it creates one demo user per role and prints their credentials.
# Settings: CBM_HUB_* (hub-config/hub_settings.py) and CBM_* (backend/settings.py), from .env too.
# CBM_HUB_API_PORT (this script only, default 8008) is the port of the REST API started here. It refuses
# to start when a port is taken (the hub defaults to 8100 so it does not collide with `make demo`'s API on 8000).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PROXY=var/node/node_modules/.bin/configurable-http-proxy
API_HOST=127.0.0.1
API_PORT=${CBM_HUB_API_PORT:-8008}

[[ -x $BIN/jupyterhub ]] || { echo "jupyterhub missing: run 'make setup'" >&2; exit 1; }
if [[ ! -x $PROXY ]]; then
    echo "installing configurable-http-proxy into var/node (npm)"
    npm install --silent --prefix var/node configurable-http-proxy
fi

$BIN/cbm db start >/dev/null 2>&1 || true   # no-op with an external CBM_DATABASE_URL
$BIN/cbm db migrate

demo=$($BIN/python -c 'from backend.settings import get_settings; print(int(get_settings().demo_mode))')
if [[ $demo == 1 ]]; then
    existing=$($BIN/cbm users list | cut -f1)
    for role in admin analyst consumer; do
        name=demo-$role
        if ! grep -qx "$name" <<<"$existing"; then
            printf 'cbm-demo-%s\n' "$role" | $BIN/cbm users add "$name" --role "$role" --password-stdin
            $BIN/cbm users grant "$name" '*' >/dev/null
        fi
    done
fi

# Every port must be free: the hub's defaults (8100, 8001, 8081, 8090) collide with anything already
# there; fail now rather than print a URL
# that leads somewhere else.
read -r -a hub_ports <<<"$($BIN/python -c 'import sys; sys.path.insert(0, "hub-config")
from hub_settings import get_hub_settings as g; h = g()
print(h.port, h.proxy_api_port or h.port + 1, h.hub_port, h.dashboards_port)')"
busy=
for i in 0 1 2 3 4; do
    port=$API_PORT; [[ $i -lt 4 ]] && port=${hub_ports[$i]}
    var=(CBM_HUB_PORT CBM_HUB_PROXY_API_PORT CBM_HUB_HUB_PORT CBM_HUB_DASHBOARDS_PORT CBM_HUB_API_PORT)
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then busy+=" $port (${var[$i]})"; fi
done
if [[ -n $busy ]]; then
    echo "port(s) already in use:$busy. Stop what listens there (ss -ltnp) or set those variables." >&2
    exit 1
fi

export CBM_HUB_API_URL=${CBM_HUB_API_URL:-http://$API_HOST:$API_PORT}
$BIN/cbm serve --host "$API_HOST" --port "$API_PORT" &
api_pid=$!
hub_pid=
stop() {
    trap - EXIT INT TERM
    [[ -n $hub_pid ]] && kill -0 "$hub_pid" 2>/dev/null && echo "stopping the hub (its services take up to a minute)"
    [[ -n $hub_pid ]] && kill -TERM "$hub_pid" 2>/dev/null && wait "$hub_pid" 2>/dev/null
    kill -TERM "$api_pid" 2>/dev/null && wait "$api_pid" 2>/dev/null
    return 0
}
trap stop EXIT
trap 'stop; exit 130' INT TERM

url=$($BIN/python -c 'import sys; sys.path.insert(0, "hub-config"); from hub_settings import get_hub_settings; print(get_hub_settings().public_url)')
$BIN/jupyterhub -f hub-config/jupyterhub_config.py &
hub_pid=$!
# Print the URL once the hub answers through the proxy (the dashboards service takes a few seconds).
up=0
for _ in $(seq 240); do
    kill -0 "$hub_pid" 2>/dev/null || { echo "jupyterhub exited; see its log above" >&2; exit 1; }
    if $BIN/python -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' \
        "${url%/}/hub/api/" 2>/dev/null; then up=1; break; fi
    sleep 0.5
done
[[ $up == 1 ]] || echo "warning: the hub does not answer at $url yet; see its log above" >&2
echo
echo "CbM hub: $url   (REST API: $CBM_HUB_API_URL)   Ctrl-C stops hub, servers and API"
if [[ $demo == 1 ]]; then
    echo "demo users: demo-admin / cbm-demo-admin, demo-analyst / cbm-demo-analyst, demo-consumer / cbm-demo-consumer"
fi
wait "$hub_pid"
