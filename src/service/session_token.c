#include "service/session_token.h"

#include <openssl/sha.h>
#include <sodium.h>
#include <string.h>

void session_token_new(char token[SESSION_TOKEN_SIZE], uint8_t hash[SESSION_HASH_SIZE])
{
    unsigned char random[32];
    randombytes_buf(random, sizeof random);
    sodium_bin2base64(token, SESSION_TOKEN_SIZE, random, sizeof random,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    session_token_hash(token, hash);
}

void session_token_hash(const char *token, uint8_t hash[SESSION_HASH_SIZE])
{
    SHA256((const unsigned char *)token, strlen(token), hash);
}
