#!/bin/bash
# The image's health probe: exit 0 when the DataGenie server in this container answers GET /healthz with 200.
#
#   datagenie-healthcheck [PORT]     (default 8080, the port of the image's `serve --bind 0.0.0.0:8080`)
#
# It speaks HTTP through bash's /dev/tcp, so the image needs no curl or wget. Docker's HEALTHCHECK --timeout bounds
# a server that accepts the connection but never answers. crates/datagenie/tests/it/deploy.rs runs this script
# against a real server.
set -u
port="${1:-8080}"
exec 3<>"/dev/tcp/127.0.0.1/${port}" 2>/dev/null || exit 1
printf 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3
IFS=' ' read -r _ status _ <&3 || exit 1
[ "$status" = 200 ]
