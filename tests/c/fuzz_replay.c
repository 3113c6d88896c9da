/* fuzz_replay.c - runs a libFuzzer target over its committed corpus
 * without libFuzzer, so `make test` (and the sanitizer run) replays every
 * input the fuzzers found interesting. Linked with one tests/c/fuzz_*.c;
 * CORPUS names its directory. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    size_t cap = 1 << 16, len = 0;
    uint8_t *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            uint8_t *nb = realloc(buf, cap *= 2);
            if (!nb) {
                free(buf);
                buf = NULL;
            }
            buf = nb;
        }
    }
    fclose(f);
    if (!buf)
        return -1;
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    return 0;
}

int main(void)
{
    DIR *d = opendir(CORPUS);
    if (!d) {
        printf("not ok - %s: cannot open the corpus\n", CORPUS);
        return 1;
    }
    int count = 0, bad = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", CORPUS, e->d_name);
        if (run_file(path) != 0)
            bad++;
        count++;
    }
    closedir(d);
    /* A crash or sanitizer report aborts before this line. */
    printf("%s - replay %s (%d inputs)\n", bad || !count ? "not ok" : "ok",
           CORPUS, count);
    printf("# %d passed, %d failed\n", !(bad || !count), bad || !count);
    return bad || !count;
}
