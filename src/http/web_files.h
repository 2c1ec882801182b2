/* The portal's pages and assets (web/), built into topupd by cmake/embed_web.cmake so that what
 * is served is what was built and tested. */
#ifndef TOPUP_WEB_FILES_H
#define TOPUP_WEB_FILES_H

#include <stddef.h>

typedef struct web_file {
    const char *path; /* "/index.html", "/assets/app.css"; NULL ends the table */
    const unsigned char *data;
    size_t size;
} web_file;

extern const web_file topup_web_files[];

#endif
