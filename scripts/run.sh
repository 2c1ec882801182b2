#!/usr/bin/env bash
# make run: creates var/topup.db with demo data on first use, then starts topupd in the
# foreground on 127.0.0.1:8080 and prints how to try it.
set -euo pipefail
cd "$(dirname "$0")/.."

db=var/topup.db
key_file=var/demo-api-key
config=var/topupd.conf
listen=${TOPUP_LISTEN:-127.0.0.1:8080}

if [ ! -f "$db" ]; then
  mkdir -p var
  build/topup init --db "$db" --demo
  umask 077
  build/topup apikey create --db "$db" --name demo --scope admin | tail -n 1 > "$key_file"
fi
key=$(cat "$key_file")
# A database made by an earlier version gets the newer tables.
build/topup migrate --db "$db" >/dev/null

# A demo business hall with a teller and a supervisor for the counter tour; their passwords are
# made here and kept in var/demo-staff (readable by this user only).
if [ ! -f var/demo-staff ]; then
  teller_password=$(head -c 12 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 12)
  supervisor_password=$(head -c 12 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 12)
  build/topup hall add --db "$db" --id demo-hall --name "西单营业厅 (demo)" --currency CNY >/dev/null
  printf '%s\n' "$teller_password" |
    build/topup staff add --db "$db" --id teller --name "王丽" --role teller --hall demo-hall >/dev/null
  printf '%s\n' "$supervisor_password" |
    build/topup staff add --db "$db" --id supervisor --name "李强" --role supervisor \
      --hall demo-hall >/dev/null
  (umask 077 && printf 'teller %s\nsupervisor %s\n' "$teller_password" "$supervisor_password" \
    >var/demo-staff)
fi
if [ ! -f var/counter-key ]; then
  (umask 077 && head -c 32 /dev/urandom | base64 > var/counter-key)
fi

# A demo partner (a reseller with a prepaid float) for the partner API tour.
if [ ! -f var/demo-shop.secret ]; then
  (umask 077 && build/topup merchant add --db "$db" --id demo-shop --name "Demo shop" \
    --currency CNY --credit-limit 100.00 | tail -n 1 > var/demo-shop.secret)
  build/topup merchant topup-float --db "$db" --id demo-shop --amount 1000.00 >/dev/null
  build/topup merchant price --db "$db" --id demo-shop --operator cmcc --percent 98.50 >/dev/null
fi

# The sandbox payment provider: its webhook secret (readable by this user only) and the config
# that turns it on. Real providers are configured the same way; see docs/payments.md.
if [ ! -f var/sandbox-webhook-secret ]; then
  (umask 077 && head -c 32 /dev/urandom | base64 > var/sandbox-webhook-secret)
fi
# The demo SMSC's bind password (tests/sms/demo-smsc.mjs reads the same file).
if [ ! -f var/portal-key ]; then
  (umask 077 && head -c 32 /dev/urandom | base64 > var/portal-key)
fi
if [ ! -f var/smsc-password ]; then
  (umask 077 && head -c 6 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 8 > var/smsc-password)
fi
cat > "$config" <<CONF
# Written by make run: the DEMO daemon with the sandbox payment provider.
db = $db
listen = $listen
sandbox.gateway = http://$listen
sandbox.webhook_secret = var/sandbox-webhook-secret
portal.key_file = var/portal-key
counter.key_file = var/counter-key
# Subscribers' SMS go to a local SMSC over SMPP (start tests/sms/demo-smsc.mjs to see them).
sms.transport = smpp
sms.host = 127.0.0.1
sms.port = 2775
sms.system_id = topup
sms.password = var/smsc-password
sms.source_addr = 10086
CONF

cat <<TXT

  topup is starting on http://$listen with the DEMO database $db
  (demo operators, ranges and products; not real data).

  The recharge website: open http://$listen/ in a browser (pay with the sandbox provider).
  The business-hall counter: http://$listen/counter, staff and passwords in var/demo-staff.

  Demo API key (admin scope): $key

  Try it:
    curl -s http://$listen/v1/numbers/13800138000 -H "Authorization: Bearer $key"
    curl -s http://$listen/v1/recharges -H "Authorization: Bearer $key" \\
         -H 'Content-Type: application/json' -H "Idempotency-Key: \$(date +%s%N)" \\
         -d '{"msisdn": "13800138000", "product": "cmcc-50"}'
    curl -s http://$listen/v1/subscribers/%2B8613800138000 -H "Authorization: Bearer $key"
    build/topup verify --db $db

  Pay for a recharge through the sandbox payment provider (no real money):
    curl -s http://$listen/v1/payment-orders -H "Authorization: Bearer $key" \\
         -H 'Content-Type: application/json' -H "Idempotency-Key: \$(date +%s%N)" \\
         -d '{"msisdn": "13800138000", "product": "cmcc-100", "provider": "sandbox",
              "method": "checkout"}'
    # open payment.pay_url in a browser and press Pay, or:
    curl -s -X POST -d action=pay PAY_URL
    curl -s http://$listen/v1/payment-orders/ORDER_ID -H "Authorization: Bearer $key"

  Sell a recharge as the partner demo-shop (signed with var/demo-shop.secret; see README):
    TOPUP_URL=http://$listen scripts/partner-request.sh demo-shop var/demo-shop.secret \\
         POST /v1/partner/orders '{"merchant_order_id": "A1", "msisdn": "13800138000",
                                   "product": "cmcc-50"}'
    TOPUP_URL=http://$listen scripts/partner-request.sh demo-shop var/demo-shop.secret \\
         GET /v1/partner/balance

  Each recharge sends the subscriber an SMS over SMPP to a local SMSC. To see them, in another
  terminal: (cd tests && npm ci) && node tests/sms/demo-smsc.mjs
  build/topup outbox list --db $db     # every SMS and its state

  Stop with Ctrl-C.

TXT
exec build/topupd --config "$config"
