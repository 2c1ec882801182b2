/* The SQLite schema as numbered migrations. Migration N moves a database from user_version N-1 to
 * N; a released migration is never edited, only followed by a new one. */
#include "store/schema.h"

#include <stddef.h>

static const char *const migrations[] = {
    /* 1: catalog, ledger, orders, subscribers, API keys, idempotency. */
    "CREATE TABLE meta ("
    "  key TEXT PRIMARY KEY,"
    "  value TEXT NOT NULL"
    ") WITHOUT ROWID;"

    "CREATE TABLE number_plans ("
    "  country TEXT PRIMARY KEY CHECK (length(country) = 2),"
    "  calling_code TEXT NOT NULL UNIQUE,"
    "  trunk_prefix TEXT NOT NULL DEFAULT '',"
    "  international_prefix TEXT NOT NULL DEFAULT '00',"
    "  nsn_length_min INTEGER NOT NULL,"
    "  nsn_length_max INTEGER NOT NULL,"
    "  mobile_prefixes TEXT NOT NULL DEFAULT ''"
    ") WITHOUT ROWID;"

    "CREATE TABLE operators ("
    "  id TEXT PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  country TEXT NOT NULL REFERENCES number_plans(country),"
    "  currency TEXT NOT NULL,"
    "  connector TEXT NOT NULL CHECK (connector IN ('hosted')),"
    "  created_at INTEGER NOT NULL"
    ") WITHOUT ROWID;"

    /* prefix: E.164 digits without '+'; the longest matching prefix wins. */
    "CREATE TABLE number_ranges ("
    "  prefix TEXT PRIMARY KEY,"
    "  operator_id TEXT NOT NULL REFERENCES operators(id)"
    ") WITHOUT ROWID;"

    /* A ported number belongs to operator_id whatever its prefix says. */
    "CREATE TABLE portability ("
    "  msisdn TEXT PRIMARY KEY,"
    "  operator_id TEXT NOT NULL REFERENCES operators(id),"
    "  updated_at INTEGER NOT NULL"
    ") WITHOUT ROWID;"

    /* kind 'fixed': face_minor and price_minor; kind 'range': min/max/step of the face value and
     * price_basis_points of the face value (10000 = sold at face). */
    "CREATE TABLE products ("
    "  id TEXT PRIMARY KEY,"
    "  operator_id TEXT NOT NULL REFERENCES operators(id),"
    "  kind TEXT NOT NULL CHECK (kind IN ('fixed', 'range')),"
    "  face_minor INTEGER,"
    "  price_minor INTEGER,"
    "  min_minor INTEGER,"
    "  max_minor INTEGER,"
    "  step_minor INTEGER,"
    "  price_basis_points INTEGER,"
    "  validity_days INTEGER NOT NULL CHECK (validity_days >= 0),"
    "  active INTEGER NOT NULL DEFAULT 1,"
    "  CHECK (kind = 'range' OR (face_minor > 0 AND price_minor > 0)),"
    "  CHECK (kind = 'fixed' OR (min_minor > 0 AND max_minor >= min_minor AND step_minor > 0"
    "                            AND price_basis_points > 0))"
    ") WITHOUT ROWID;"
    "CREATE INDEX products_operator ON products(operator_id);"

    /* balance_minor = sum of credits - sum of debits; flags bit 1: must not go negative (below
     * -credit_limit_minor). */
    "CREATE TABLE accounts ("
    "  id INTEGER PRIMARY KEY,"
    "  code TEXT NOT NULL,"
    "  currency TEXT NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  balance_minor INTEGER NOT NULL DEFAULT 0 CHECK (typeof(balance_minor) = 'integer'),"
    "  flags INTEGER NOT NULL DEFAULT 0,"
    "  credit_limit_minor INTEGER NOT NULL DEFAULT 0 CHECK (credit_limit_minor >= 0),"
    "  created_at INTEGER NOT NULL,"
    "  UNIQUE (code, currency)"
    ");"

    /* Immutable: never updated or deleted; a correction is a new transfer. */
    "CREATE TABLE transfers ("
    "  id INTEGER PRIMARY KEY,"
    "  debit_account_id INTEGER NOT NULL REFERENCES accounts(id),"
    "  credit_account_id INTEGER NOT NULL REFERENCES accounts(id),"
    "  amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),"
    "  currency TEXT NOT NULL,"
    "  order_id INTEGER,"
    "  kind TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  CHECK (debit_account_id <> credit_account_id)"
    ");"
    "CREATE INDEX transfers_order ON transfers(order_id) WHERE order_id IS NOT NULL;"
    "CREATE INDEX transfers_debit ON transfers(debit_account_id, id);"
    "CREATE INDEX transfers_credit ON transfers(credit_account_id, id);"
    "CREATE TRIGGER transfers_immutable_update BEFORE UPDATE ON transfers"
    "  BEGIN SELECT RAISE(ABORT, 'transfers are immutable'); END;"
    "CREATE TRIGGER transfers_immutable_delete BEFORE DELETE ON transfers"
    "  BEGIN SELECT RAISE(ABORT, 'transfers are immutable'); END;"

    "CREATE TABLE subscribers ("
    "  msisdn TEXT PRIMARY KEY,"
    "  operator_id TEXT NOT NULL REFERENCES operators(id),"
    "  account_id INTEGER NOT NULL REFERENCES accounts(id),"
    "  status TEXT NOT NULL CHECK (status IN ('active', 'suspended', 'closed')),"
    "  valid_until INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL"
    ") WITHOUT ROWID;"

    "CREATE TABLE api_keys ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  key_hash BLOB NOT NULL UNIQUE,"
    "  scopes TEXT NOT NULL,"
    "  funding_account TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  revoked_at INTEGER"
    ");"

    /* id is assigned by SQLite and only grows (orders are never deleted), so it doubles as the
     * pagination cursor. */
    "CREATE TABLE orders ("
    "  id INTEGER PRIMARY KEY,"
    "  channel TEXT NOT NULL,"
    "  api_key_id INTEGER,"
    "  msisdn TEXT NOT NULL,"
    "  operator_id TEXT NOT NULL,"
    "  product_id TEXT NOT NULL,"
    "  face_minor INTEGER NOT NULL CHECK (face_minor > 0),"
    "  price_minor INTEGER NOT NULL CHECK (price_minor > 0),"
    "  currency TEXT NOT NULL,"
    "  funding_account_id INTEGER NOT NULL REFERENCES accounts(id),"
    "  status TEXT NOT NULL,"
    "  balance_after_minor INTEGER,"
    "  valid_until INTEGER,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL"
    ");"
    "CREATE INDEX orders_msisdn ON orders(msisdn, id);"

    "CREATE TABLE order_events ("
    "  order_id INTEGER NOT NULL REFERENCES orders(id),"
    "  seq INTEGER NOT NULL,"
    "  from_status TEXT NOT NULL,"
    "  to_status TEXT NOT NULL,"
    "  reason TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  PRIMARY KEY (order_id, seq)"
    ") WITHOUT ROWID;"

    /* The stored first answer to a state-changing request, per (API key, client key). */
    "CREATE TABLE idempotency ("
    "  api_key_id INTEGER NOT NULL,"
    "  key TEXT NOT NULL,"
    "  request_hash BLOB NOT NULL,"
    "  status INTEGER NOT NULL,"
    "  body TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  PRIMARY KEY (api_key_id, key)"
    ") WITHOUT ROWID;"
    "CREATE INDEX idempotency_age ON idempotency(created_at);",

    /* 2: payments through providers, their refunds, raw notifications, alerts. */
    "CREATE TABLE payments ("
    "  id INTEGER PRIMARY KEY,"
    "  order_id INTEGER NOT NULL UNIQUE REFERENCES orders(id),"
    "  provider TEXT NOT NULL,"
    "  method TEXT NOT NULL,"
    "  out_trade_no TEXT NOT NULL UNIQUE,"
    "  trade_no TEXT,"
    "  provider_ref TEXT NOT NULL DEFAULT '',"
    "  amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),"
    "  currency TEXT NOT NULL,"
    "  validity_days INTEGER NOT NULL CHECK (validity_days >= 0),"
    "  status TEXT NOT NULL CHECK (status IN"
    "    ('creating', 'pending', 'unknown', 'paid', 'closed', 'failed')),"
    "  pay_url TEXT NOT NULL DEFAULT '',"
    "  paid_minor INTEGER NOT NULL DEFAULT 0 CHECK (paid_minor >= 0),"
    "  expires_at INTEGER NOT NULL,"
    "  paid_at INTEGER,"
    "  next_check_at INTEGER,"
    "  check_count INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL"
    ");"
    /* The provider's trade number is the deduplication key of its notifications. */
    "CREATE UNIQUE INDEX payments_trade ON payments(provider, trade_no)"
    "  WHERE trade_no IS NOT NULL;"
    "CREATE INDEX payments_due ON payments(next_check_at) WHERE next_check_at IS NOT NULL;"
    "CREATE INDEX payments_paid ON payments(provider, paid_at) WHERE paid_at IS NOT NULL;"

    "CREATE TABLE refunds ("
    "  id INTEGER PRIMARY KEY,"
    "  payment_id INTEGER NOT NULL UNIQUE REFERENCES payments(id),"
    "  out_request_no TEXT NOT NULL UNIQUE,"
    "  amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),"
    "  currency TEXT NOT NULL,"
    "  reason TEXT NOT NULL,"
    "  status TEXT NOT NULL CHECK (status IN ('pending', 'unknown', 'succeeded', 'failed')),"
    "  refund_id TEXT NOT NULL DEFAULT '',"
    "  attempt_count INTEGER NOT NULL DEFAULT 0,"
    "  next_attempt_at INTEGER,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL"
    ");"
    "CREATE INDEX refunds_due ON refunds(next_attempt_at) WHERE next_attempt_at IS NOT NULL;"

    /* Every notification as received, genuine or not, for audit. */
    "CREATE TABLE payment_notifications ("
    "  id INTEGER PRIMARY KEY,"
    "  provider TEXT NOT NULL,"
    "  received_at INTEGER NOT NULL,"
    "  headers TEXT NOT NULL,"
    "  body BLOB NOT NULL,"
    "  genuine INTEGER NOT NULL,"
    "  verdict TEXT NOT NULL,"
    "  detail TEXT NOT NULL,"
    "  out_trade_no TEXT NOT NULL DEFAULT '',"
    "  trade_no TEXT NOT NULL DEFAULT '',"
    "  payment_id INTEGER"
    ");"
    "CREATE INDEX payment_notifications_payment ON payment_notifications(payment_id)"
    "  WHERE payment_id IS NOT NULL;"

    "CREATE TABLE alerts ("
    "  id INTEGER PRIMARY KEY,"
    "  kind TEXT NOT NULL,"
    "  order_id INTEGER,"
    "  detail TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL"
    ");",

    /* 3: the SMS outbox. A message is written in the transaction of the change it reports, with
     * the facts it needs (JSON); the text is rendered from its event's template when sent. */
    "CREATE TABLE sms_outbox ("
    "  id INTEGER PRIMARY KEY,"
    "  event TEXT NOT NULL,"
    "  msisdn TEXT NOT NULL,"
    "  lang TEXT NOT NULL,"
    "  facts TEXT NOT NULL,"
    "  order_id INTEGER,"
    "  status TEXT NOT NULL CHECK (status IN"
    "    ('queued', 'sending', 'sent', 'delivered', 'undelivered', 'dead')),"
    "  attempt_count INTEGER NOT NULL DEFAULT 0,"
    "  next_attempt_at INTEGER,"
    "  smsc_id TEXT,"
    "  last_error TEXT NOT NULL DEFAULT '',"
    "  receipt_stat TEXT NOT NULL DEFAULT '',"
    "  receipt_at INTEGER,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL"
    ");"
    "CREATE INDEX sms_outbox_due ON sms_outbox(next_attempt_at)"
    "  WHERE next_attempt_at IS NOT NULL;"
    "CREATE INDEX sms_outbox_smsc ON sms_outbox(smsc_id) WHERE smsc_id IS NOT NULL;"
    "CREATE INDEX sms_outbox_msisdn ON sms_outbox(msisdn, id);"
    /* The language of the SMS a payment order's credit queues, chosen when it was created. */
    "ALTER TABLE payments ADD COLUMN sms_lang TEXT NOT NULL DEFAULT '';",

    /* 4: SMS codes. Only a keyed hash of each code is kept (the code itself travels in its
     * outbox message, which is scrubbed once the SMSC has it). */
    "CREATE TABLE otp_codes ("
    "  id INTEGER PRIMARY KEY,"
    "  msisdn TEXT NOT NULL,"
    "  purpose TEXT NOT NULL CHECK (purpose IN ('register', 'login', 'reset')),"
    "  code_hash BLOB NOT NULL,"
    "  salt BLOB NOT NULL,"
    "  client_ip TEXT NOT NULL,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  used_at INTEGER"
    ");"
    "CREATE INDEX otp_codes_number ON otp_codes(msisdn, purpose, id);"
    "CREATE INDEX otp_codes_number_day ON otp_codes(msisdn, created_at);"
    "CREATE INDEX otp_codes_ip_day ON otp_codes(client_ip, created_at);",

    /* 5: partner merchants: a prepaid float (an account that may go down to minus its credit
     * limit), wholesale prices in basis points of the face value, and an IP allow-list. The
     * secret signs the merchant's requests (HMAC), so it is kept as given, not hashed. */
    "CREATE TABLE merchants ("
    "  id TEXT PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  secret TEXT NOT NULL,"
    "  currency TEXT NOT NULL,"
    "  float_account_id INTEGER NOT NULL REFERENCES accounts(id),"
    "  status TEXT NOT NULL CHECK (status IN ('active', 'suspended')),"
    "  allowed_ips TEXT NOT NULL DEFAULT '',"
    "  created_at INTEGER NOT NULL"
    ") WITHOUT ROWID;"
    /* target: 'operator:ID' or 'product:ID'; a product's price wins over its operator's. */
    "CREATE TABLE merchant_prices ("
    "  merchant_id TEXT NOT NULL REFERENCES merchants(id),"
    "  target TEXT NOT NULL,"
    "  basis_points INTEGER NOT NULL CHECK (basis_points > 0 AND basis_points <= 20000),"
    "  PRIMARY KEY (merchant_id, target)"
    ") WITHOUT ROWID;",
};

const char *const *schema_sqlite_migrations(size_t *count)
{
    *count = sizeof migrations / sizeof migrations[0];
    return migrations;
}
