#!/usr/bin/env bash
# A self-signed certificate for local trials of the TLS port (make run
# TLS=1): DIR/cert.pem and DIR/key.pem (0600), for localhost, 127.0.0.1,
# ::1 and ADDRESS, valid 30 days. Kept while it has a day left, so the
# client's remembered key (known_servers) stays valid between runs.
#     scripts/tls-selfsigned.sh DIR [ADDRESS]
set -euo pipefail
dir="${1:?usage: tls-selfsigned.sh DIR [ADDRESS]}"
address="${2:-127.0.0.1}"
cert="$dir/cert.pem" key="$dir/key.pem"
if [ -s "$cert" ] && [ -s "$key" ] && openssl x509 -in "$cert" -noout -checkend 86400 >/dev/null 2>&1; then
  exit 0
fi
names="DNS:localhost,IP:127.0.0.1,IP:::1"
if [[ "$address" == 127.0.0.1 || "$address" == ::1 || "$address" == localhost ]]; then
  :
elif [[ "$address" =~ ^[0-9.]+$ || "$address" == *:* ]]; then
  names="$names,IP:$address"
else
  names="$names,DNS:$address"
fi
mkdir -p "$dir"
umask 077
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
  -subj "/CN=chatroom local trial" -addext "subjectAltName=$names" \
  -keyout "$key" -out "$cert" 2>/dev/null
echo "made a self-signed certificate for $names in $cert"
