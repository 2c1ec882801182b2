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
};

const char *const *schema_sqlite_migrations(size_t *count)
{
    *count = sizeof migrations / sizeof migrations[0];
    return migrations;
}
