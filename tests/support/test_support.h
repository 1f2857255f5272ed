/* Shared helpers for the cmocka tests: a context on the default device,
 * status assertions that print the context's last error, temporary
 * directories, deterministic random data and float comparisons with a stated
 * tolerance. Includes <cmocka.h> with its prerequisites and the internal
 * runtime header, so a test includes just this. */
#ifndef CLCNN_TEST_SUPPORT_H
#define CLCNN_TEST_SUPPORT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "runtime/internal.h"

/* ---------------------------------------------------------------- statuses */

/* Fails the test unless `actual` equals `expected`, naming both statuses and
 * quoting ctx's last error (ctx may be NULL). */
void ts_check_status(const clcnn_context *ctx, clcnn_status expected, clcnn_status actual,
                     const char *expression, const char *file, int line);

#define TS_ASSERT_STATUS(ctx, expected, expr) \
    ts_check_status((ctx), (expected), (expr), #expr, __FILE__, __LINE__)
#define TS_ASSERT_OK(ctx, expr) TS_ASSERT_STATUS((ctx), CLCNN_OK, (expr))

/* Fails unless `haystack` contains `needle` (both printed on failure). */
void ts_check_contains(const char *haystack, const char *needle, const char *file, int line);
#define TS_ASSERT_CONTAINS(haystack, needle) \
    ts_check_contains((haystack), (needle), __FILE__, __LINE__)

/* ----------------------------------------------------------------- contexts */

/* A context on the default device (CLCNN_DEVICE when set), default options. */
clcnn_context *ts_context_create(void);

/* A context with the given options; fails the test with the error buffer's
 * text when creation fails. */
clcnn_context *ts_context_create_with(const clcnn_context_options *options);

/* Facts about the default context's device, for tests that must not assume
 * POCL (they also run under Oclgrind). */
clcnn_device_info ts_device_info(const clcnn_context *ctx);

/* --------------------------------------------------------------- environment */

/* A saved environment variable, restored by ts_env_restore. */
typedef struct ts_saved_env {
    char name[64];
    char *value; /* malloc'ed copy, NULL when the variable was unset */
} ts_saved_env;

/* Saves `name`, then sets it to value (NULL: unsets it). */
void ts_env_set(ts_saved_env *saved, const char *name, const char *value);
void ts_env_restore(ts_saved_env *saved);

/* ----------------------------------------------------------- temporary dirs */

/* A new empty directory under $TMPDIR (else /tmp); malloc'ed path. */
char *ts_temp_dir_create(void);

/* Removes path and everything below it, then frees path. */
void ts_temp_dir_remove(char *path);

/* Number of entries in dir whose name ends with suffix ("" counts all). */
size_t ts_dir_count(const char *dir, const char *suffix);

/* Full path of the first entry in dir ending with suffix (malloc'ed), or
 * NULL when there is none. */
char *ts_dir_find(const char *dir, const char *suffix);

/* The path of `relative` (e.g. "data/golden/conv2d_3x3_p1_s1.txt") inside
 * the project's shared/ folder: $CLCNN_SHARED_DIR when set, else the
 * ../shared beside the source tree. malloc'ed. */
char *ts_shared_path(const char *relative);

/* Non-zero when CLCNN_TEST_SMALL is set (the Oclgrind runs): tests then use
 * small shapes only. */
int ts_small(void);

/* ---------------------------------------------------------------------- data */

/* Fills data with uniform values in [low, high) from a fixed seed. */
void ts_fill_random(float *data, size_t count, uint32_t seed, float low, float high);

/* Fails unless got[i] and expected[i] are bit-for-bit identical for every i;
 * reports the first difference. */
void ts_check_floats_identical(const float *got, const float *expected, size_t count,
                               const char *file, int line);
#define TS_ASSERT_FLOATS_IDENTICAL(got, expected, count) \
    ts_check_floats_identical((got), (expected), (count), __FILE__, __LINE__)

/* Fails unless |got - expected| <= atol + rtol * |expected| for every element
 * (NaN never matches); reports the worst element. */
void ts_check_floats_near(const float *got, const double *expected, size_t count, double atol,
                          double rtol, const char *file, int line);
#define TS_ASSERT_FLOATS_NEAR(got, expected, count, atol, rtol) \
    ts_check_floats_near((got), (expected), (count), (atol), (rtol), __FILE__, __LINE__)

/* malloc that fails the test instead of returning NULL. */
void *ts_malloc(size_t bytes);

/* ------------------------------------------------------------------- kernels */

/* Runs util.cl's copy_float4 over count4 float4s with the program built with
 * `options` (NULL: none) and checks the copy bit-for-bit, and that nothing
 * past count4 was written. */
void ts_check_copy_float4(clcnn_context *ctx, const char *options, size_t count4);

#endif
