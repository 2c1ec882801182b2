#!/usr/bin/env bash
# make run: creates var/topup.db with demo data on first use, then starts topupd in the
# foreground on 127.0.0.1:8080 and prints how to try it.
set -euo pipefail
cd "$(dirname "$0")/.."

db=var/topup.db
key_file=var/demo-api-key
listen=${TOPUP_LISTEN:-127.0.0.1:8080}

if [ ! -f "$db" ]; then
  mkdir -p var
  build/topup init --db "$db" --demo
  umask 077
  build/topup apikey create --db "$db" --name demo --scope admin | tail -n 1 > "$key_file"
fi
key=$(cat "$key_file")

cat <<TXT

  topup is starting on http://$listen with the DEMO database $db
  (demo operators, ranges and products; not real data).

  Demo API key (admin scope): $key

  Try it:
    curl -s http://$listen/v1/numbers/13800138000 -H "Authorization: Bearer $key"
    curl -s http://$listen/v1/recharges -H "Authorization: Bearer $key" \\
         -H 'Content-Type: application/json' -H "Idempotency-Key: \$(date +%s%N)" \\
         -d '{"msisdn": "13800138000", "product": "cmcc-50"}'
    curl -s http://$listen/v1/subscribers/%2B8613800138000 -H "Authorization: Bearer $key"
    build/topup verify --db $db

  Stop with Ctrl-C.

TXT
exec build/topupd --db "$db" --listen "$listen"
