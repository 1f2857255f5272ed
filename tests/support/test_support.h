/* Shared helpers for the cmocka tests: a context on the default device (and
 * the group fixtures that hold one), status assertions that print the
 * context's last error, small mode, temporary directories, golden files,
 * deterministic random data, tensors made from and read back to host arrays,
 * NaN-poisoning of the buffer pool and float comparisons with a stated
 * tolerance. Includes <cmocka.h> with its prerequisites and the internal
 * runtime header, so a test includes just this. */
#ifndef CLCNN_TEST_SUPPORT_H
#define CLCNN_TEST_SUPPORT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "clcnn/kernel.h"
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

/* Kernel `name` of the library's embedded program `program` built with
 * `options`, through the public user-kernel API (clcnn/kernel.h), so tests
 * launch through the library's one launch path; fails the test if it does
 * not build. Free with clcnn_kernel_destroy. */
clcnn_kernel *ts_builtin_kernel(clcnn_context *ctx, const char *program, const char *options,
                                const char *name);

/* Arguments first .. first + 3 of a kernel that takes a Philox stream as the
 * library's kernels do: key low and high words, offset low and high words. */
void ts_kernel_set_philox_stream(clcnn_context *ctx, clcnn_kernel *kernel, size_t first,
                                 uint64_t seed, uint64_t offset);

/* A context with the given options; fails the test with the error buffer's
 * text when creation fails. */
clcnn_context *ts_context_create_with(const clcnn_context_options *options);

/* Facts about the default context's device, for tests that must not assume
 * POCL (they also run under Oclgrind). */
clcnn_device_info ts_device_info(const clcnn_context *ctx);

/* Non-zero when ctx's device is Oclgrind's simulator (by platform or device
 * name). */
int ts_oclgrind(const clcnn_context *ctx);

/* cmocka group fixtures: ts_setup_context puts ts_context_create()'s context
 * in *state (when none can be made, the group fails with the reason);
 * ts_teardown_context destroys it. */
int ts_setup_context(void **state);
int ts_teardown_context(void **state);

/* Overwrites every free buffer of ctx's pool, whole, with NaN (all bits set),
 * after finishing the queue. A kernel that reads workspace it never wrote
 * then gives NaN that the checks catch, on every device. It also keeps
 * Oclgrind's uninitialised-value check meaningful: Oclgrind 21.10 shrinks its
 * record of a buffer's initialised bytes to the extent of the last host write
 * or fill (clEnqueueFillBuffer leaves 4 bytes) and drops kernel writes past
 * it, so a pooled buffer that was once a smaller tensor reads as
 * uninitialised when it comes back as a workspace; a whole-buffer host write
 * resets that record. */
void ts_poison_pool(clcnn_context *ctx);

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

/* The path of `relative` (e.g. "golden/conv2d_3x3_p1_s1.txt") inside the
 * repository's tests/data folder ($CLCNN_TEST_DATA_DIR when set: a build
 * run from elsewhere than where it was built). malloc'ed. */
char *ts_data_path(const char *relative);

/* Non-zero when tests should use small shapes only: CLCNN_TEST_SMALL is set
 * (and not "0"), as in the Oclgrind runs, or the default device (CLCNN_DEVICE
 * when set) is on Oclgrind's platform. The device is looked up once per
 * process. */
int ts_small(void);

/* Runs body with `const type *var` at each element of the array small_cases,
 * then of large_cases unless ts_small(). */
#define TS_FOR_EACH_CASE(type, var, small_cases, large_cases, body)                            \
    do {                                                                                       \
        for (size_t ts_index_ = 0; ts_index_ < sizeof(small_cases) / sizeof((small_cases)[0]); \
             ts_index_++) {                                                                    \
            const type *var = &(small_cases)[ts_index_];                                       \
            body;                                                                              \
        }                                                                                      \
        for (size_t ts_index_ = 0;                                                             \
             !ts_small() && ts_index_ < sizeof(large_cases) / sizeof((large_cases)[0]);        \
             ts_index_++) {                                                                    \
            const type *var = &(large_cases)[ts_index_];                                       \
            body;                                                                              \
        }                                                                                      \
    } while (0)

/* The values of tensor `name` (any dtype, as doubles) in the golden file
 * tests/data/golden/<file> (format v1, see its README.md); *count gets
 * their number. malloc'ed. Fails the test when the file, the tensor or any
 * of its values is missing. */
double *ts_golden_tensor(const char *file, const char *name, size_t *count);

/* ts_golden_tensor of a tensor that must hold expected_count values. */
double *ts_golden_tensor_sized(const char *file, const char *name, size_t expected_count);

/* The value of "param <name> <value>" in the golden file, as a number;
 * fails the test when it is missing. */
double ts_golden_param(const char *file, const char *name);

/* A whole golden file (format v1) in memory, for a test that reads many of
 * its tensors; `path` is a full path (e.g. under tests/data/). NULL, after
 * printing why, when the file is unreadable or cut short. */
typedef struct ts_golden_file ts_golden_file;
ts_golden_file *ts_golden_file_load(const char *path);
void ts_golden_file_free(ts_golden_file *file);

/* Tensor `name` of the loaded file, which must hold `count` values (fails
 * the test otherwise); owned by the file. */
const double *ts_golden_file_tensor(const ts_golden_file *file, const char *name, size_t count);

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

/* A malloc'ed array of count values from ts_fill_random. */
float *ts_random_floats(size_t count, uint32_t seed, float low, float high);

/* The count values as doubles (malloc'ed). */
double *ts_to_double(const float *data, size_t count);

/* ------------------------------------------------------------------- tensors */

/* A tensor of the given shape holding `data` (its numel values); data NULL
 * leaves it as clcnn_tensor_create made it (zeros, set on the device). The
 * caller destroys it. Fails the test on any error. */
clcnn_tensor *ts_tensor_create(clcnn_context *ctx, size_t ndim, const size_t *dims,
                               const float *data);

/* ts_tensor_create of a 1-D tensor of n elements. */
clcnn_tensor *ts_vector_create(clcnn_context *ctx, size_t n, const float *data);

/* A tensor of the given shape with every element `value`, written from the
 * host: NaN shows an element an op fails to write, and unlike the device
 * fill of clcnn_tensor_create, Oclgrind 21.10 counts a host write as
 * initialised. */
clcnn_tensor *ts_tensor_filled(clcnn_context *ctx, size_t ndim, const size_t *dims, float value);

/* Every element of the tensor, read back to a malloc'ed array. */
float *ts_tensor_read_all(const clcnn_tensor *tensor);

/* ------------------------------------------------------------------- kernels */

/* Runs util.cl's copy_float4 over count4 float4s with the program built with
 * `options` (NULL: none) and checks the copy bit-for-bit, and that nothing
 * past count4 was written. */
void ts_check_copy_float4(clcnn_context *ctx, const char *options, size_t count4);

#endif
