/* The SQL of the recharge write path, shared by store_sqlite.c and the raw-SQLite benchmark
 * (bench/bench_sqlite_raw.c), so the benchmark always measures exactly the statements the store
 * runs. Only store_sqlite.c and the benchmark include this. */
#ifndef TOPUP_STORE_SQLITE_SQL_H
#define TOPUP_STORE_SQLITE_SQL_H

#define ACCOUNT_COLUMNS                                                                            \
    "id, code, currency, kind, balance_minor, flags, credit_limit_minor, created_at"

#define SQL_BEGIN     "BEGIN IMMEDIATE"
#define SQL_COMMIT    "COMMIT"
#define SQL_SAVEPOINT "SAVEPOINT r"
#define SQL_RELEASE   "RELEASE r"
#define SQL_IDEMPOTENCY_GET                                                                        \
    "SELECT request_hash, status, body FROM idempotency"                                           \
    " WHERE api_key_id = ?1 AND key = ?2"
#define SQL_SUBSCRIBER_GET                                                                         \
    "SELECT s.msisdn, s.operator_id, s.account_id, s.status, s.valid_until,"                       \
    " s.created_at, a.balance_minor, a.currency"                                                   \
    " FROM subscribers s JOIN accounts a ON a.id = s.account_id"                                   \
    " WHERE s.msisdn = ?1"
#define SQL_ACCOUNT_GET "SELECT " ACCOUNT_COLUMNS " FROM accounts WHERE code = ?1 AND currency = ?2"
#define SQL_ACCOUNT_INSERT                                                                         \
    "INSERT INTO accounts(code, currency, kind, flags, credit_limit_minor,"                        \
    " created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
#define SQL_SUBSCRIBER_INSERT                                                                      \
    "INSERT INTO subscribers(msisdn, operator_id, account_id, status,"                             \
    " valid_until, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
#define SQL_ORDER_INSERT                                                                           \
    "INSERT INTO orders(channel, api_key_id, msisdn, operator_id, product_id,"                     \
    " face_minor, price_minor, currency, funding_account_id, status,"                              \
    " balance_after_minor, valid_until, created_at, updated_at)"                                   \
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
#define SQL_EVENT_FIRST                                                                            \
    "INSERT INTO order_events(order_id, seq, from_status, to_status, reason,"                      \
    " created_at) VALUES (?1, 1, 'none', ?2, ?3, ?4)"
#define SQL_ORDER_UPDATE                                                                           \
    "UPDATE orders SET status = ?3, updated_at = ?4,"                                              \
    " balance_after_minor = CASE WHEN ?5 THEN ?6 ELSE balance_after_minor END,"                    \
    " valid_until = CASE WHEN ?5 THEN nullif(?7, 0) ELSE valid_until END"                          \
    " WHERE id = ?1 AND status = ?2"
#define SQL_EVENT_APPEND                                                                           \
    "INSERT INTO order_events(order_id, seq, from_status, to_status, reason,"                      \
    " created_at)"                                                                                 \
    " SELECT ?1, coalesce(max(seq), 0) + 1, ?2, ?3, ?4, ?5 FROM order_events"                      \
    " WHERE order_id = ?1"
#define SQL_ACCOUNT_MOVE                                                                           \
    "UPDATE accounts SET balance_minor = balance_minor + ?1"                                       \
    " WHERE id = ?2 AND currency = ?3"                                                             \
    " RETURNING balance_minor, flags, credit_limit_minor"
#define SQL_TRANSFER_INSERT                                                                        \
    "INSERT INTO transfers(debit_account_id, credit_account_id,"                                   \
    " amount_minor, currency, order_id, kind, created_at)"                                         \
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
#define SQL_SUBSCRIBER_UPDATE                                                                      \
    "UPDATE subscribers SET status = ?2, valid_until = ?3"                                         \
    " WHERE msisdn = ?1"
#define SQL_IDEMPOTENCY_PUT                                                                        \
    "INSERT INTO idempotency(api_key_id, key, request_hash, status, body,"                         \
    " created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"

#endif
