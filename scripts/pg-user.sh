#!/bin/sh
# PostgreSQL refuses to run as root: when root, create the system user that runs the
# embedded cluster (name from CBM_PG_SYSTEM_USER, default cbmpg). Nothing to do otherwise.
set -eu
[ "$(id -u)" -ne 0 ] && exit 0
user="${CBM_PG_SYSTEM_USER:-cbmpg}"
id "$user" >/dev/null 2>&1 && exit 0
useradd --system --no-create-home --shell /usr/sbin/nologin "$user"
echo "created system user $user for the embedded PostgreSQL cluster"
