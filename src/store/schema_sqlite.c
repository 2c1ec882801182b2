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

    /* 6: partner orders, their callbacks, and operators reached through an HTTP connector.
     * SQLite cannot change a CHECK in place, so operators is rebuilt to admit 'http' (the
     * documented table rebuild; store_migrate turns foreign keys off around it and checks them
     * before committing). */
    "CREATE TABLE operators_next ("
    "  id TEXT PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  country TEXT NOT NULL REFERENCES number_plans(country),"
    "  currency TEXT NOT NULL,"
    "  connector TEXT NOT NULL CHECK (connector IN ('hosted', 'http')),"
    "  created_at INTEGER NOT NULL"
    ") WITHOUT ROWID;"
    "INSERT INTO operators_next SELECT id, name, country, currency, connector, created_at"
    "  FROM operators;"
    "DROP TABLE operators;"
    "ALTER TABLE operators_next RENAME TO operators;"
    /* Where an http operator's recharge API is and the key both sides sign with. */
    "CREATE TABLE operator_endpoints ("
    "  operator_id TEXT PRIMARY KEY REFERENCES operators(id),"
    "  url TEXT NOT NULL,"
    "  secret TEXT NOT NULL,"
    "  timeout_ms INTEGER NOT NULL CHECK (timeout_ms BETWEEN 100 AND 60000)"
    ") WITHOUT ROWID;"
    /* Every nonce a merchant signed with in the last ten minutes (twice the clock tolerance):
     * a second use is a replay. Older ones are purged; their timestamps are stale anyway. */
    "CREATE TABLE partner_nonces ("
    "  merchant_id TEXT NOT NULL,"
    "  nonce TEXT NOT NULL,"
    "  seen_at INTEGER NOT NULL,"
    "  PRIMARY KEY (merchant_id, nonce)"
    ") WITHOUT ROWID;"
    "CREATE INDEX partner_nonces_seen ON partner_nonces(seen_at);"
    /* A partner's order: merchant_order_id is its idempotency key, kept for good (not purged
     * like API idempotency keys), so a retry a month later still finds its order. */
    "CREATE TABLE partner_orders ("
    "  order_id INTEGER PRIMARY KEY REFERENCES orders(id),"
    "  merchant_id TEXT NOT NULL REFERENCES merchants(id),"
    "  merchant_order_id TEXT NOT NULL,"
    "  request_hash BLOB NOT NULL,"
    "  callback_url TEXT NOT NULL DEFAULT '',"
    "  UNIQUE (merchant_id, merchant_order_id)"
    ");"
    /* A recharge forwarded to an http operator. status: queued (to send), pending (the operator
     * took it and has not finished), unknown (sent, no answer: settled only by a query), done. */
    "CREATE TABLE connector_jobs ("
    "  order_id INTEGER PRIMARY KEY REFERENCES orders(id),"
    "  operator_id TEXT NOT NULL REFERENCES operators(id),"
    "  status TEXT NOT NULL CHECK (status IN ('queued', 'pending', 'unknown', 'done')),"
    "  operator_order_id TEXT NOT NULL DEFAULT '',"
    "  attempt_count INTEGER NOT NULL DEFAULT 0,"
    "  next_attempt_at INTEGER,"
    "  last_error TEXT NOT NULL DEFAULT '',"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL"
    ");"
    "CREATE INDEX connector_jobs_due ON connector_jobs(next_attempt_at)"
    "  WHERE next_attempt_at IS NOT NULL;"
    /* The callback outbox: the body is fixed when the order reaches its final state, so every
     * attempt sends exactly what was recorded; each attempt is kept. */
    "CREATE TABLE partner_callbacks ("
    "  id INTEGER PRIMARY KEY,"
    "  order_id INTEGER NOT NULL REFERENCES orders(id),"
    "  merchant_id TEXT NOT NULL REFERENCES merchants(id),"
    "  url TEXT NOT NULL,"
    "  body TEXT NOT NULL,"
    "  status TEXT NOT NULL CHECK (status IN ('queued', 'delivered', 'dead')),"
    "  attempt_count INTEGER NOT NULL DEFAULT 0,"
    "  next_attempt_at INTEGER,"
    "  last_error TEXT NOT NULL DEFAULT '',"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL"
    ");"
    "CREATE INDEX partner_callbacks_due ON partner_callbacks(next_attempt_at)"
    "  WHERE next_attempt_at IS NOT NULL;"
    "CREATE INDEX partner_callbacks_order ON partner_callbacks(order_id);"
    "CREATE TABLE callback_attempts ("
    "  id INTEGER PRIMARY KEY,"
    "  callback_id INTEGER NOT NULL REFERENCES partner_callbacks(id),"
    "  attempted_at INTEGER NOT NULL,"
    "  http_status INTEGER,"
    "  error TEXT NOT NULL DEFAULT '',"
    "  duration_ms INTEGER NOT NULL"
    ");"
    "CREATE INDEX callback_attempts_callback ON callback_attempts(callback_id, id);",

    /* 7: web portal accounts. The password is an Argon2id string (libsodium); a session is kept
     * as the SHA-256 of its cookie, so the table alone lets nobody in. */
    "CREATE TABLE portal_users ("
    "  msisdn TEXT PRIMARY KEY,"
    "  password_hash TEXT NOT NULL,"
    "  failed_logins INTEGER NOT NULL DEFAULT 0,"
    "  locked_until INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL"
    ") WITHOUT ROWID;"
    "CREATE TABLE portal_sessions ("
    "  token_hash BLOB PRIMARY KEY,"
    "  msisdn TEXT NOT NULL REFERENCES portal_users(msisdn),"
    "  created_at INTEGER NOT NULL,"
    "  last_seen_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL"
    ") WITHOUT ROWID;"
    "CREATE INDEX portal_sessions_user ON portal_sessions(msisdn);"
    /* Numbers a user recharges besides their own. */
    "CREATE TABLE portal_numbers ("
    "  msisdn TEXT NOT NULL REFERENCES portal_users(msisdn),"
    "  number TEXT NOT NULL,"
    "  label TEXT NOT NULL DEFAULT '',"
    "  created_at INTEGER NOT NULL,"
    "  PRIMARY KEY (msisdn, number)"
    ") WITHOUT ROWID;"
    /* The account an order was placed from (a guest's order has none). */
    "CREATE TABLE portal_orders ("
    "  order_id INTEGER PRIMARY KEY REFERENCES orders(id),"
    "  msisdn TEXT NOT NULL REFERENCES portal_users(msisdn)"
    ");"
    "CREATE INDEX portal_orders_user ON portal_orders(msisdn, order_id);",

    /* 8: the counter channel (business halls). A hall's id appears in its ledger accounts
     * (safe:HALL, drawer:HALL:STAFF), so its currency is fixed with it. */
    "CREATE TABLE halls ("
    "  id TEXT PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  address TEXT NOT NULL DEFAULT '',"
    "  currency TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL"
    ") WITHOUT ROWID;"
    /* id is the login name. Only an admin may belong to no hall: a teller or supervisor acts in
     * exactly one. Staff are disabled, never deleted, so the audit log's references hold. The
     * password is an Argon2id string (libsodium); locked_until is set after too many wrong
     * passwords in a row. */
    "CREATE TABLE staff ("
    "  id TEXT PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  hall_id TEXT REFERENCES halls(id),"
    "  role TEXT NOT NULL CHECK (role IN ('teller', 'supervisor', 'admin')),"
    "  password_hash TEXT NOT NULL,"
    "  status TEXT NOT NULL CHECK (status IN ('active', 'disabled')),"
    "  failed_logins INTEGER NOT NULL DEFAULT 0,"
    "  locked_until INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  CHECK (role = 'admin' OR hall_id IS NOT NULL)"
    ") WITHOUT ROWID;"
    "CREATE INDEX staff_hall ON staff(hall_id) WHERE hall_id IS NOT NULL;"
    /* A staff login at /counter, kept as the SHA-256 of its cookie like the portal's. */
    "CREATE TABLE staff_sessions ("
    "  token_hash BLOB PRIMARY KEY,"
    "  staff_id TEXT NOT NULL REFERENCES staff(id),"
    "  created_at INTEGER NOT NULL,"
    "  last_seen_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL"
    ") WITHOUT ROWID;"
    "CREATE INDEX staff_sessions_staff ON staff_sessions(staff_id);"
    /* Every staff action, refused ones too, written in the transaction of what it records.
     * staff_id: who acted, or for whom the command line acted (origin names the system user
     * then); NULL for a command-line change that is no staff member's (adding a hall) and for
     * a login name that matches no staff (subject keeps it). Append-only: the triggers refuse
     * any change, so history cannot be rewritten through SQL either. */
    "CREATE TABLE audit_log ("
    "  id INTEGER PRIMARY KEY,"
    "  at INTEGER NOT NULL,"
    "  staff_id TEXT REFERENCES staff(id),"
    "  hall_id TEXT REFERENCES halls(id),"
    "  action TEXT NOT NULL CHECK (action <> ''),"
    "  subject TEXT NOT NULL DEFAULT '',"
    "  detail TEXT NOT NULL DEFAULT '',"
    "  origin TEXT NOT NULL DEFAULT ''"
    ");"
    "CREATE INDEX audit_log_staff ON audit_log(staff_id, id) WHERE staff_id IS NOT NULL;"
    "CREATE INDEX audit_log_hall ON audit_log(hall_id, id) WHERE hall_id IS NOT NULL;"
    "CREATE TRIGGER audit_log_append_only_update BEFORE UPDATE ON audit_log"
    "  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
    "CREATE TRIGGER audit_log_append_only_delete BEFORE DELETE ON audit_log"
    "  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
    /* A teller's shift at one hall with one cash drawer (the ledger account
     * drawer:HALL:STAFF). Opening moves the counted float from the hall's safe into the drawer;
     * closing records the cash expected (what the ledger says the drawer holds), the cash
     * counted and their difference (over_short = counted - expected: + over, - short), which
     * became the transfer over_short_transfer_id, and returns the counted cash to the safe. The
     * partial unique index allows one open shift per staff member. */
    "CREATE TABLE shifts ("
    "  id INTEGER PRIMARY KEY,"
    "  staff_id TEXT NOT NULL REFERENCES staff(id),"
    "  hall_id TEXT NOT NULL REFERENCES halls(id),"
    "  drawer_account_id INTEGER NOT NULL REFERENCES accounts(id),"
    "  status TEXT NOT NULL CHECK (status IN ('open', 'closed')),"
    "  currency TEXT NOT NULL,"
    "  opening_float_minor INTEGER NOT NULL CHECK (opening_float_minor >= 0),"
    "  expected_cash_minor INTEGER,"
    "  counted_cash_minor INTEGER CHECK (counted_cash_minor >= 0),"
    "  over_short_minor INTEGER,"
    "  over_short_transfer_id INTEGER REFERENCES transfers(id),"
    "  close_reason TEXT NOT NULL DEFAULT '',"
    "  opened_at INTEGER NOT NULL,"
    "  closed_at INTEGER,"
    "  CHECK ((status = 'open') = (closed_at IS NULL)),"
    "  CHECK (status = 'open' OR (expected_cash_minor IS NOT NULL"
    "    AND counted_cash_minor IS NOT NULL"
    "    AND over_short_minor = counted_cash_minor - expected_cash_minor))"
    ");"
    "CREATE UNIQUE INDEX shifts_one_open ON shifts(staff_id) WHERE status = 'open';"
    "CREATE INDEX shifts_hall ON shifts(hall_id, id);"
    /* A recharge taken at a counter: the order, the shift (and so the drawer) it was taken in,
     * who served, and how it was paid. tender: cash (tendered and change; the order's funding
     * account is the drawer), card (the POS terminal's reference), alipay_code (the customer's
     * payment code; the payment is a payments row of the order). The customer's ID number is
     * kept only as a keyed hash (HMAC-SHA-256) and its last 4 characters. approved_by: the
     * supervisor who approved an amount above the limit. invoice_title set: an invoice (发票)
     * was asked for. receipt_print_count > 1: later prints are reprints. A reversal records
     * who, when, why, and the shift whose drawer paid cash back; it voids the receipt. */
    "CREATE TABLE counter_orders ("
    "  order_id INTEGER PRIMARY KEY REFERENCES orders(id),"
    "  shift_id INTEGER NOT NULL REFERENCES shifts(id),"
    "  hall_id TEXT NOT NULL REFERENCES halls(id),"
    "  staff_id TEXT NOT NULL REFERENCES staff(id),"
    "  tender TEXT NOT NULL CHECK (tender IN ('cash', 'card', 'alipay_code')),"
    "  tendered_minor INTEGER NOT NULL DEFAULT 0 CHECK (tendered_minor >= 0),"
    "  change_minor INTEGER NOT NULL DEFAULT 0"
    "    CHECK (change_minor >= 0 AND change_minor <= tendered_minor),"
    "  pos_reference TEXT NOT NULL DEFAULT '',"
    "  id_type TEXT NOT NULL CHECK (id_type <> ''),"
    "  id_hash BLOB NOT NULL CHECK (length(id_hash) = 32),"
    "  id_last4 TEXT NOT NULL CHECK (length(id_last4) BETWEEN 1 AND 4),"
    "  approved_by TEXT REFERENCES staff(id),"
    "  invoice_title TEXT,"
    "  invoice_tax_id TEXT NOT NULL DEFAULT '',"
    "  receipt_print_count INTEGER NOT NULL DEFAULT 0 CHECK (receipt_print_count >= 0),"
    "  created_at INTEGER NOT NULL,"
    "  reversed_at INTEGER,"
    "  reversed_by TEXT REFERENCES staff(id),"
    "  reversal_shift_id INTEGER REFERENCES shifts(id),"
    "  reversal_reason TEXT NOT NULL DEFAULT '',"
    "  CHECK (tender = 'cash' OR (tendered_minor = 0 AND change_minor = 0)),"
    "  CHECK (tender <> 'card' OR pos_reference <> ''),"
    "  CHECK (invoice_title IS NOT NULL OR invoice_tax_id = ''),"
    "  CHECK ((reversed_at IS NULL) = (reversed_by IS NULL))"
    ");"
    "CREATE INDEX counter_orders_shift ON counter_orders(shift_id, order_id);"
    "CREATE INDEX counter_orders_invoices ON counter_orders(created_at)"
    "  WHERE invoice_title IS NOT NULL;",
};

const char *const *schema_sqlite_migrations(size_t *count)
{
    *count = sizeof migrations / sizeof migrations[0];
    return migrations;
}
