/* Database schema migrations, one array per backend. */
#ifndef TOPUP_SCHEMA_H
#define TOPUP_SCHEMA_H

#include <stddef.h>

/* Migration i (0-based) takes user_version i to i + 1. */
const char *const *schema_sqlite_migrations(size_t *count /* OUT */);

#endif
