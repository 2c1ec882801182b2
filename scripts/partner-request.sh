#!/usr/bin/env bash
# Sends one signed partner request to topup, the way a merchant's system would (docs/partners.md):
#
#   scripts/partner-request.sh MERCHANT SECRET_FILE METHOD PATH [BODY]
#
# e.g. scripts/partner-request.sh demo-shop var/demo-shop.secret GET /v1/partner/balance
#      scripts/partner-request.sh demo-shop var/demo-shop.secret POST /v1/partner/orders \
#          '{"merchant_order_id":"A1","msisdn":"13800138000","product":"cmcc-50"}'
# TOPUP_URL (default http://127.0.0.1:8080) says where topup listens.
set -euo pipefail
if [ $# -lt 4 ]; then
  sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
merchant=$1 secret=$(cat "$2") method=$3 path=$4 body=${5-}
ts=$(date +%s)
nonce=$(openssl rand -hex 12)
body_hash=$(printf '%s' "$body" | openssl dgst -sha256 -r | cut -d' ' -f1)
signature=$(printf '%s\n%s\n%s\n%s\n%s' "$method" "$path" "$ts" "$nonce" "$body_hash" |
  openssl dgst -sha256 -hmac "$secret" -r | cut -d' ' -f1)
args=(-sS -X "$method" "${TOPUP_URL:-http://127.0.0.1:8080}$path"
  -H "X-Topup-Merchant: $merchant" -H "X-Topup-Timestamp: $ts"
  -H "X-Topup-Nonce: $nonce" -H "X-Topup-Signature: $signature")
if [ -n "$body" ]; then
  args+=(-H 'Content-Type: application/json' --data-binary "$body")
fi
curl "${args[@]}" -w '\n'
