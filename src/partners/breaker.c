#include "partners/breaker.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CIRCUITS_MAX 256 /* operators with a connector; more share no state and are never opened   \
                          */

typedef struct circuit {
    char operator_id[CATALOG_ID_SIZE];
    breaker_state state;
    int64_t failures_in_row;
    int64_t opened_at;
    bool probe_out; /* half-open: the probe was let through and has not come back */
} circuit;

struct breaker_board {
    pthread_mutex_t lock; /* guards everything below */
    int64_t failures;
    int64_t cooldown_s;
    circuit circuits[CIRCUITS_MAX];
    size_t count;
};

breaker_board *breaker_board_new(int64_t failures, int64_t cooldown_s)
{
    breaker_board *board = calloc(1, sizeof *board);
    if (!board)
        return NULL;
    pthread_mutex_init(&board->lock, NULL);
    board->failures = failures;
    board->cooldown_s = cooldown_s;
    return board;
}

void breaker_board_free(breaker_board *board)
{
    if (!board)
        return;
    pthread_mutex_destroy(&board->lock);
    free(board);
}

/* The operator's circuit, made closed on first use; NULL when the table is full. Locked. */
static circuit *find(breaker_board *board, const char *operator_id)
{
    for (size_t i = 0; i < board->count; i++)
        if (strcmp(board->circuits[i].operator_id, operator_id) == 0)
            return &board->circuits[i];
    if (board->count == CIRCUITS_MAX)
        return NULL;
    circuit *c = &board->circuits[board->count++];
    memset(c, 0, sizeof *c);
    snprintf(c->operator_id, sizeof c->operator_id, "%s", operator_id);
    return c;
}

static bool cooled_down(const breaker_board *board, const circuit *c, int64_t now)
{
    return now - c->opened_at >= board->cooldown_s;
}

bool breaker_allow(breaker_board *board, const char *operator_id, int64_t now)
{
    pthread_mutex_lock(&board->lock);
    circuit *c = find(board, operator_id);
    bool allowed = true;
    if (c && c->state == BREAKER_OPEN) {
        allowed = cooled_down(board, c, now);
        if (allowed) {
            c->state = BREAKER_HALF_OPEN;
            c->probe_out = true;
        }
    } else if (c && c->state == BREAKER_HALF_OPEN) {
        allowed = !c->probe_out; /* one probe at a time */
        c->probe_out = true;
    }
    pthread_mutex_unlock(&board->lock);
    return allowed;
}

void breaker_record(breaker_board *board, const char *operator_id, bool reached, int64_t now)
{
    pthread_mutex_lock(&board->lock);
    circuit *c = find(board, operator_id);
    if (c && reached) {
        c->state = BREAKER_CLOSED;
        c->failures_in_row = 0;
        c->probe_out = false;
    } else if (c) {
        c->failures_in_row++;
        if (c->state == BREAKER_HALF_OPEN || c->failures_in_row >= board->failures) {
            c->state = BREAKER_OPEN;
            c->opened_at = now;
            c->probe_out = false;
        }
    }
    pthread_mutex_unlock(&board->lock);
}

breaker_state breaker_peek(breaker_board *board, const char *operator_id, int64_t now)
{
    pthread_mutex_lock(&board->lock);
    circuit *c = find(board, operator_id);
    breaker_state state = c ? c->state : BREAKER_CLOSED;
    if (state == BREAKER_OPEN && cooled_down(board, c, now))
        state = BREAKER_HALF_OPEN; /* the next request is the probe */
    pthread_mutex_unlock(&board->lock);
    return state;
}

const char *breaker_state_name(breaker_state state)
{
    switch (state) {
    case BREAKER_CLOSED:
        return "closed";
    case BREAKER_OPEN:
        return "open";
    case BREAKER_HALF_OPEN:
        return "half_open";
    }
    return "closed";
}
