/* One circuit breaker per operator reached through a connector. Closed: requests go. After
 * `failures` failures in a row it opens: nothing goes for `cooldown_s`; then one request goes as
 * a probe (half-open), and its outcome closes the circuit or opens it again. Shared by the
 * forwarder (which asks and reports) and the HTTP threads (which refuse new orders while open);
 * a mutex guards it. */
#ifndef TOPUP_BREAKER_H
#define TOPUP_BREAKER_H

#include <stdbool.h>
#include <stdint.h>

#include "catalog/catalog.h"

typedef enum breaker_state { BREAKER_CLOSED, BREAKER_OPEN, BREAKER_HALF_OPEN } breaker_state;

typedef struct breaker_board breaker_board;

breaker_board *breaker_board_new(int64_t failures, int64_t cooldown_s);
void breaker_board_free(breaker_board *board);

/* Whether a request to operator_id may go now. An open circuit whose cooldown has passed lets
 * exactly one through (the probe) and becomes half-open. */
bool breaker_allow(breaker_board *board, const char *operator_id, int64_t now);

/* The outcome of a request that breaker_allow let through. */
void breaker_record(breaker_board *board, const char *operator_id, bool reached, int64_t now);

/* The state as the API shows it, without taking a probe. */
breaker_state breaker_peek(breaker_board *board, const char *operator_id, int64_t now);

const char *breaker_state_name(breaker_state state);

#endif
