/* test.h - a tiny test runner: TEST(name) { CHECK(...); } and RUN(name).
 * Each binary prints "ok - name" / "not ok - name" lines and ends with
 * "# N passed, M failed"; exit status is non-zero on any failure. */
#ifndef OKT_TEST_H
#define OKT_TEST_H

#include <stdio.h>
#include <string.h>

static int t_passed, t_failed, t_cur_failed;

#define TEST(name) static void test_##name(void)
#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "  %s:%d: CHECK failed: %s\n", __FILE__,         \
                    __LINE__, #cond);                                        \
            t_cur_failed = 1;                                                \
        }                                                                    \
    } while (0)
#define CHECK_STR(a, b)                                                      \
    do {                                                                     \
        const char *a_ = (a), *b_ = (b);                                     \
        if (!a_ || !b_ || strcmp(a_, b_) != 0) {                             \
            fprintf(stderr, "  %s:%d: \"%s\" != \"%s\"\n", __FILE__,         \
                    __LINE__, a_ ? a_ : "(null)", b_ ? b_ : "(null)");       \
            t_cur_failed = 1;                                                \
        }                                                                    \
    } while (0)
#define RUN(name)                                                            \
    do {                                                                     \
        t_cur_failed = 0;                                                    \
        test_##name();                                                       \
        if (t_cur_failed) {                                                  \
            t_failed++;                                                      \
            printf("not ok - %s\n", #name);                                  \
        } else {                                                             \
            t_passed++;                                                      \
            printf("ok - %s\n", #name);                                      \
        }                                                                    \
        fflush(stdout);                                                      \
    } while (0)
#define TEST_SUMMARY()                                                       \
    (printf("# %d passed, %d failed\n", t_passed, t_failed), t_failed != 0)

#endif
