/* Key and secret loading shared by the provider modules, and small notification helpers. */
#include "payments/notify.h"

#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>
#include <sys/stat.h>

#define KEY_FILE_SIZE_MAX (64 * 1024) /* a PEM key or certificate is a few KiB */

/* Payment keys and secrets sign or prove money movements: a file others can read is refused.
 * The mode is checked on the opened file (fstat), so the file cannot be swapped between the
 * check and the read, and the stream is unbuffered so no copy of the key lingers in a stdio
 * buffer after it is closed. */
static topup_result open_private(const char *path, FILE **file)
{
    *file = fopen(path, "r");
    if (!*file)
        return TOPUP_E_IO;
    struct stat st;
    if (fstat(fileno(*file), &st) != 0 || (st.st_mode & 077) != 0 ||
        st.st_size > KEY_FILE_SIZE_MAX) {
        fclose(*file);
        *file = NULL;
        return TOPUP_E_INVALID_ARGUMENT;
    }
    setvbuf(*file, NULL, _IONBF, 0);
    return TOPUP_OK;
}

topup_result notify_load_public_key(const char *path, EVP_PKEY **key)
{
    *key = NULL;
    FILE *file = fopen(path, "r");
    if (!file)
        return TOPUP_E_IO;
    *key = PEM_read_PUBKEY(file, NULL, NULL, NULL);
    if (!*key) {
        /* Not a bare key: a certificate (WeChat Pay platform certificates come as one). */
        rewind(file);
        X509 *certificate = PEM_read_X509(file, NULL, NULL, NULL);
        if (certificate) {
            *key = X509_get_pubkey(certificate);
            X509_free(certificate);
        }
    }
    fclose(file);
    return *key ? TOPUP_OK : TOPUP_E_INVALID_ARGUMENT;
}

topup_result notify_load_private_key(const char *path, EVP_PKEY **key)
{
    *key = NULL;
    FILE *file;
    topup_result r = open_private(path, &file);
    if (r != TOPUP_OK)
        return r;
    *key = PEM_read_PrivateKey(file, NULL, NULL, NULL);
    fclose(file);
    return *key ? TOPUP_OK : TOPUP_E_INVALID_ARGUMENT;
}

topup_result notify_load_secret(const char *path, char *secret, size_t secret_size)
{
    FILE *file;
    topup_result r = open_private(path, &file);
    if (r != TOPUP_OK)
        return r;
    size_t length = fread(secret, 1, secret_size - 1, file);
    bool more = fgetc(file) != EOF;
    fclose(file);
    while (length > 0 && (secret[length - 1] == '\n' || secret[length - 1] == '\r'))
        length--;
    secret[length] = '\0';
    if (length == 0 || more) {
        OPENSSL_cleanse(secret, secret_size);
        return TOPUP_E_INVALID_ARGUMENT;
    }
    return TOPUP_OK;
}

const char *notify_header_get(const notify_header *headers, size_t header_count, const char *name)
{
    for (size_t i = 0; i < header_count; i++)
        if (strcasecmp(headers[i].name, name) == 0)
            return headers[i].value;
    return NULL;
}

void notify_refuse(notify_result *result, const char *format, ...)
{
    result->genuine = false;
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(result->reason, sizeof result->reason, format, arguments);
    va_end(arguments);
}
