/* "key = value" configuration files, shared by topupd and the topup CLI: one setting a line,
 * blank lines and lines starting with '#' ignored, spaces around key and value trimmed. */
#ifndef TOPUP_CONFIG_FILE_H
#define TOPUP_CONFIG_FILE_H

#include <stddef.h>

#define CONFIG_LINE_MAX 1024

/* Applies one setting; returns 0 when applied, -1 when refused (error says why, or stays "" for
 * "not a valid 'key = value' setting"). */
typedef int (*config_setting_fn)(void *context, const char *key, const char *value, char *error,
                                 size_t error_size);

/* Reads path and calls apply for every setting, reporting each refused line on stderr as
 * "path:line: why". Returns 0 when every line was applied, -1 otherwise (after reading all, so
 * that every mistake is reported at once). */
int config_file_read(const char *path, config_setting_fn apply, void *context);

#endif
