#!/usr/bin/env bash
# Start the CbM JupyterHub (and the REST API it points notebooks and dashboards at) on loopback.
#
#   scripts/hub.sh            what `make hub` runs; Ctrl-C stops hub, servers and API
#
# Needs: the virtualenv (make setup), configurable-http-proxy in var/node (npm, see `make hub`),
# the database (embedded cluster started here, or CBM_DATABASE_URL). In demo mode
# (CBM_DEMO_MODE=true) it creates one demo user per role and prints their credentials.
# Settings: CBM_HUB_* (hub-config/hub_settings.py) and CBM_* (backend/settings.py), from .env too.
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

export CBM_HUB_API_URL=${CBM_HUB_API_URL:-http://$API_HOST:$API_PORT}
$BIN/cbm serve --host "$API_HOST" --port "$API_PORT" &
api_pid=$!
hub_pid=
stop() {
    [[ -n $hub_pid ]] && kill -TERM "$hub_pid" 2>/dev/null && wait "$hub_pid" 2>/dev/null
    kill -TERM "$api_pid" 2>/dev/null && wait "$api_pid" 2>/dev/null
    return 0
}
trap stop EXIT INT TERM

url=$($BIN/python -c 'import sys; sys.path.insert(0, "hub-config"); from hub_settings import get_hub_settings; print(get_hub_settings().public_url)')
echo "CbM hub: $url   (REST API: $CBM_HUB_API_URL)"
if [[ $demo == 1 ]]; then
    echo "demo users: demo-admin / cbm-demo-admin, demo-analyst / cbm-demo-analyst, demo-consumer / cbm-demo-consumer"
fi
$BIN/jupyterhub -f hub-config/jupyterhub_config.py &
hub_pid=$!
wait "$hub_pid"
