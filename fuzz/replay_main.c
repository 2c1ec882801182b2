/* Replays inputs through a fuzz target without libFuzzer, so that the committed corpus runs as an
 * ordinary test in the gcc and ASan builds: replay_<target> PATH... runs every regular file of
 * each directory (in name order) and each file given directly.
 * Exposed to: the files named on the command line only, which it trusts to be a corpus.
 * Exit status 0 when every input ran; 1 when a path cannot be read or no input was found (a
 * replay of nothing must not pass). A broken invariant aborts in the target, naming the input
 * on the line before. */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#define INPUT_SIZE_MAX (1024 * 1024) /* corpus files are small; anything bigger is a mistake */

/* Reads the whole file into a heap buffer (non-NULL even when empty) the caller frees. */
static bool read_input(const char *path, uint8_t **data /* OUT */, size_t *size /* OUT */)
{
    FILE *file = fopen(path, "rb");
    if (file == NULL) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return false;
    }
    uint8_t *buffer = malloc(INPUT_SIZE_MAX + 1);
    if (buffer == NULL)
        abort();
    size_t length = fread(buffer, 1, INPUT_SIZE_MAX + 1, file);
    bool ok = !ferror(file) && length <= INPUT_SIZE_MAX;
    fclose(file);
    if (!ok) {
        fprintf(stderr, "replay: %s: unreadable or larger than %d bytes\n", path, INPUT_SIZE_MAX);
        free(buffer);
        return false;
    }
    /* An exact-size copy, so that ASan sees a read past the input's end. */
    uint8_t *exact = malloc(length > 0 ? length : 1);
    if (exact == NULL)
        abort();
    memcpy(exact, buffer, length);
    free(buffer);
    *data = exact;
    *size = length;
    return true;
}

static bool run_file(const char *path)
{
    uint8_t *data;
    size_t size;
    if (!read_input(path, &data, &size))
        return false;
    fprintf(stderr, "Running: %s\n", path);
    LLVMFuzzerTestOneInput(data, size);
    free(data);
    return true;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Runs every regular file of dir; adds their count to *input_count. */
static bool run_dir(const char *dir, size_t *input_count)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
        return false;
    }
    char **paths = NULL;
    size_t count = 0;
    size_t capacity = 0;
    struct dirent *entry;
    while ((entry = readdir(d)) != NULL) {
        if (entry->d_name[0] == '.')
            continue;
        size_t length = strlen(dir) + 1 + strlen(entry->d_name) + 1;
        char *path = malloc(length);
        if (path == NULL)
            abort();
        snprintf(path, length, "%s/%s", dir, entry->d_name);
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(path);
            continue;
        }
        if (count == capacity) {
            capacity = capacity ? capacity * 2 : 64;
            char **grown = realloc(paths, capacity * sizeof *paths);
            if (grown == NULL)
                abort();
            paths = grown;
        }
        paths[count++] = path;
    }
    closedir(d);
    if (count > 0)
        qsort(paths, count, sizeof *paths, compare_names);
    bool ok = true;
    for (size_t i = 0; i < count; i++) {
        ok = run_file(paths[i]) && ok;
        free(paths[i]);
    }
    free(paths);
    *input_count += count;
    return ok;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
        return 2;
    }
    bool ok = true;
    size_t input_count = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            ok = run_dir(argv[i], &input_count) && ok;
        } else {
            ok = run_file(argv[i]) && ok;
            input_count++;
        }
    }
    if (input_count == 0) {
        fprintf(stderr, "replay: no inputs found\n");
        ok = false;
    }
    printf("replay: %zu inputs, %s\n", input_count, ok ? "all ran" : "some could not be read");
    return ok ? 0 : 1;
}
