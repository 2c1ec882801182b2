/* The cookie value of a browser session (the portal's and the counter's): 32 random bytes in
 * unpadded URL-safe base64. Only its SHA-256 is stored, so the sessions table alone lets nobody
 * in. */
#ifndef TOPUP_SESSION_TOKEN_H
#define TOPUP_SESSION_TOKEN_H

#include <stdint.h>

#include "store/store.h"

#define SESSION_TOKEN_SIZE 44 /* 43 characters and the NUL */

/* A fresh cookie value and the hash to store for it. */
void session_token_new(char token[SESSION_TOKEN_SIZE], uint8_t hash[SESSION_HASH_SIZE]);

/* The stored form of a cookie value. */
void session_token_hash(const char *token, uint8_t hash[SESSION_HASH_SIZE]);

#endif
