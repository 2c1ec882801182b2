#include "core/config_file.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    char *end = s + strlen(s);
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
        *--end = '\0';
    return s;
}

static int apply_line(char *text, config_setting_fn apply, void *context, const char *path,
                      int number)
{
    char error[256] = "";
    char *equals = strchr(text, '=');
    if (equals) {
        *equals = '\0';
        if (apply(context, trim(text), trim(equals + 1), error, sizeof error) == 0)
            return 0;
    }
    fprintf(stderr, "%s:%d: %s\n", path, number,
            error[0] ? error : "not a valid 'key = value' setting");
    return -1;
}

int config_file_read(const char *path, config_setting_fn apply, void *context)
{
    FILE *file = fopen(path, "r");
    if (!file) {
        fprintf(stderr, "cannot read config %s: %s\n", path, strerror(errno));
        return -1;
    }
    char line[CONFIG_LINE_MAX];
    int number = 0, failed = 0;
    while (fgets(line, sizeof line, file)) {
        number++;
        /* A line longer than the buffer would be read as two settings; refuse it whole. */
        if (!strchr(line, '\n') && !feof(file)) {
            fprintf(stderr, "%s:%d: longer than %d characters\n", path, number,
                    CONFIG_LINE_MAX - 2);
            failed = 1;
            int c;
            while ((c = fgetc(file)) != EOF && c != '\n')
                ;
            continue;
        }
        char *text = trim(line);
        if (*text == '\0' || *text == '#')
            continue;
        if (apply_line(text, apply, context, path, number))
            failed = 1;
    }
    fclose(file);
    return failed ? -1 : 0;
}
