/* Kernel profiles (include/clcnn/profile.h): exact launch counts per kernel
 * name for a known mix of fills and element-wise ops, device times that add
 * up, sorting, a run longer than the pending-event batch, an empty profile,
 * two profiles in a row, a context destroyed while profiling, and every
 * error with its exact status. */
#include "support/test_support.h"

#include <stdlib.h>
#include <string.h>

#include "clcnn/elementwise.h"
#include "clcnn/profile.h"
#include "runtime/internal.h"

#define N 1000

static int setup(void **state) {
    clcnn_context_options options = clcnn_context_options_default();
    options.enable_profiling = 1;
    *state = ts_context_create_with(&options);
    return *state == NULL;
}

static int teardown(void **state) {
    clcnn_context_destroy(*state);
    return 0;
}

static clcnn_profile_entry find(const clcnn_profile *profile, const char *name) {
    clcnn_profile_entry entry;
    TS_ASSERT_OK(NULL, clcnn_profile_find(profile, name, &entry));
    assert_string_equal(entry.name, name);
    return entry;
}

/* Times of an entry whose launches were all timed: positive, consistent. */
static void check_entry_times(const clcnn_profile_entry *entry) {
    assert_int_equal(entry->timed_launches, entry->launches);
    assert_true(entry->total_ns > 0);
    assert_true(entry->min_ns <= entry->max_ns);
    assert_true(entry->min_ns * entry->launches <= entry->total_ns);
    assert_true(entry->total_ns <= entry->max_ns * entry->launches);
}

/* 5 fills, 3 adds and 2 scales give exactly those counts, every launch
 * timed, entries sorted by total time, totals the sums of the entries. */
static void test_counts_and_times(void **state) {
    clcnn_context *ctx = *state;
    clcnn_tensor *a = ts_vector_create(ctx, N, NULL);
    clcnn_tensor *b = ts_vector_create(ctx, N, NULL);
    clcnn_tensor *out = ts_vector_create(ctx, N, NULL);
    TS_ASSERT_OK(ctx, clcnn_context_finish(ctx));

    TS_ASSERT_OK(ctx, clcnn_context_profile_start(ctx));
    for (int i = 0; i < 5; i++)
        TS_ASSERT_OK(ctx, clcnn_tensor_fill(i % 2 ? a : b, (float)(i + 1)));
    for (int i = 0; i < 3; i++)
        TS_ASSERT_OK(ctx, clcnn_add(ctx, a, b, out));
    for (int i = 0; i < 2; i++)
        TS_ASSERT_OK(ctx, clcnn_scale(ctx, out, 0.5f, out));
    clcnn_profile *profile = NULL;
    TS_ASSERT_OK(ctx, clcnn_context_profile_stop(ctx, &profile));
    assert_non_null(profile);

    /* The work ran: a = 4, b = 5, out = (4 + 5) / 4. */
    float value = 0.0f;
    TS_ASSERT_OK(ctx, clcnn_tensor_read(out, N - 1, &value, 1));
    assert_true(value == 2.25f);

    assert_int_equal(clcnn_profile_count(profile), 3);
    clcnn_profile_entry fill = find(profile, "fill_float");
    clcnn_profile_entry add = find(profile, "elementwise_add");
    clcnn_profile_entry scale = find(profile, "elementwise_scale");
    assert_int_equal(fill.launches, 5);
    assert_int_equal(add.launches, 3);
    assert_int_equal(scale.launches, 2);
    check_entry_times(&fill);
    check_entry_times(&add);
    check_entry_times(&scale);

    uint64_t sum = 0, previous = UINT64_MAX;
    for (size_t i = 0; i < clcnn_profile_count(profile); i++) {
        clcnn_profile_entry entry;
        TS_ASSERT_OK(NULL, clcnn_profile_entry_get(profile, i, &entry));
        assert_true(entry.total_ns <= previous);
        previous = entry.total_ns;
        sum += entry.total_ns;
    }
    clcnn_profile_totals totals;
    TS_ASSERT_OK(NULL, clcnn_profile_totals_get(profile, &totals));
    assert_int_equal(totals.launches, 10);
    assert_int_equal(totals.timed_launches, 10);
    assert_int_equal(totals.total_ns, sum);
    /* One in-order queue: the kernels ran one after another inside the span. */
    assert_true(totals.span_ns >= totals.total_ns);

    clcnn_profile_entry entry;
    assert_int_equal(clcnn_profile_entry_get(profile, 3, &entry), CLCNN_ERROR_OUT_OF_RANGE);
    assert_int_equal(clcnn_profile_find(profile, "elementwise_axpby", &entry),
                     CLCNN_ERROR_NOT_FOUND);
    clcnn_profile_destroy(profile);
    clcnn_tensor_destroy(a);
    clcnn_tensor_destroy(b);
    clcnn_tensor_destroy(out);
}

/* The launch counter sees every kernel the library enqueues, with or
 * without a profile running, and nothing else (a copy is not a kernel). */
static void test_launch_count(void **state) {
    (void)state;
    clcnn_context *ctx = ts_context_create(); /* no enable_profiling */
    clcnn_tensor *a = ts_vector_create(ctx, N, NULL);
    clcnn_tensor *b = ts_vector_create(ctx, N, NULL);
    uint64_t before = UINT64_MAX, after = 0;
    TS_ASSERT_OK(ctx, clcnn_context_launch_count(ctx, &before));
    TS_ASSERT_OK(ctx, clcnn_tensor_fill(a, 1.0f));
    for (int i = 0; i < 3; i++)
        TS_ASSERT_OK(ctx, clcnn_add(ctx, a, a, b));
    TS_ASSERT_OK(ctx, clcnn_tensor_copy(a, b));
    TS_ASSERT_OK(ctx, clcnn_context_launch_count(ctx, &after));
    assert_int_equal(after - before, 4);
    float value = 0.0f;
    TS_ASSERT_OK(ctx, clcnn_tensor_read(a, N - 1, &value, 1));
    assert_true(value == 2.0f);
    clcnn_tensor_destroy(a);
    clcnn_tensor_destroy(b);
    clcnn_context_destroy(ctx);
}

/* The rule that decides whether a device's timestamps are believed, on the
 * stamps rusticl (Mesa 22.3) gives every command and on ones that could be
 * real. */
static void test_timestamp_rule(void **state) {
    (void)state;
    const uint64_t rusticl[4] = {2, 3, 2, 3};
    const uint64_t real[4] = {1000, 51000, 52000, 90000};
    const uint64_t overlapping[4] = {1000, 51000, 50000, 90000};
    const uint64_t backwards[2] = {5000, 4000};
    const uint64_t zero[2] = {0, 4000};
    assert_false(clcnn__timestamps_plausible(rusticl, 2, 30000000));
    assert_true(clcnn__timestamps_plausible(real, 2, 100000));
    assert_false(clcnn__timestamps_plausible(overlapping, 2, 100000));
    assert_false(clcnn__timestamps_plausible(backwards, 1, 100000));
    assert_false(clcnn__timestamps_plausible(zero, 1, 100000));
    /* 5 ms of device time cannot have run in less than 4 ms of wall time
     * (the rule allows a millisecond for clocks read apart). */
    const uint64_t long_ones[4] = {1000, 3001000, 3002000, 5002000};
    assert_false(clcnn__timestamps_plausible(long_ones, 2, 3999999));
    assert_true(clcnn__timestamps_plausible(long_ones, 2, 4000000));
}

/* The profile times on the clock the check trusts: the device's where its
 * timestamps are plausible (POCL), else the host's (rusticl), and either way
 * every launch is timed and the span holds the kernel times. The answer is
 * the same when asked again. */
static void test_clock_follows_the_check(void **state) {
    clcnn_context *ctx = *state;
    int plausible = -1, again = -1;
    TS_ASSERT_OK(ctx, clcnn_context_check_timestamps(ctx, &plausible));
    TS_ASSERT_OK(ctx, clcnn_context_check_timestamps(ctx, &again));
    assert_true(plausible == 0 || plausible == 1);
    assert_int_equal(plausible, again);
    clcnn_tensor *t = ts_vector_create(ctx, N, NULL);
    TS_ASSERT_OK(ctx, clcnn_context_profile_start(ctx));
    for (int i = 0; i < 4; i++)
        TS_ASSERT_OK(ctx, clcnn_tensor_fill(t, (float)i));
    clcnn_profile *profile = NULL;
    TS_ASSERT_OK(ctx, clcnn_context_profile_stop(ctx, &profile));
    clcnn_profile_totals totals;
    TS_ASSERT_OK(NULL, clcnn_profile_totals_get(profile, &totals));
    assert_int_equal(totals.clock,
                     plausible ? CLCNN_PROFILE_CLOCK_DEVICE : CLCNN_PROFILE_CLOCK_HOST);
    assert_int_equal(totals.timed_launches, 4);
    assert_true(totals.total_ns > 0);
    assert_true(totals.span_ns >= totals.total_ns);
    clcnn_profile_destroy(profile);
    clcnn_tensor_destroy(t);
}

/* More launches than are kept pending at once: every one counted and timed. */
static void test_long_run(void **state) {
    clcnn_context *ctx = *state;
    const size_t launches = 4100;
    clcnn_tensor *t = ts_vector_create(ctx, 1, NULL);
    TS_ASSERT_OK(ctx, clcnn_context_profile_start(ctx));
    for (size_t i = 0; i < launches; i++)
        TS_ASSERT_OK(ctx, clcnn_tensor_fill(t, (float)i));
    clcnn_profile *profile = NULL;
    TS_ASSERT_OK(ctx, clcnn_context_profile_stop(ctx, &profile));
    clcnn_profile_entry fill = find(profile, "fill_float");
    assert_int_equal(fill.launches, launches);
    check_entry_times(&fill);
    float value = 0.0f;
    TS_ASSERT_OK(ctx, clcnn_tensor_read(t, 0, &value, 1));
    assert_true(value == (float)(launches - 1));
    clcnn_profile_destroy(profile);
    clcnn_tensor_destroy(t);
}

/* Launches outside start..stop are not counted; each profile starts empty. */
static void test_profiles_in_a_row(void **state) {
    clcnn_context *ctx = *state;
    clcnn_tensor *t = ts_vector_create(ctx, N, NULL);
    clcnn_profile *profile = NULL;
    TS_ASSERT_OK(ctx, clcnn_context_profile_start(ctx));
    TS_ASSERT_OK(ctx, clcnn_context_profile_stop(ctx, &profile));
    assert_int_equal(clcnn_profile_count(profile), 0);
    clcnn_profile_totals totals;
    TS_ASSERT_OK(NULL, clcnn_profile_totals_get(profile, &totals));
    assert_int_equal(totals.launches, 0);
    assert_int_equal(totals.total_ns, 0);
    assert_int_equal(totals.span_ns, 0);
    clcnn_profile_destroy(profile);

    TS_ASSERT_OK(ctx, clcnn_tensor_fill(t, 1.0f)); /* not profiled */
    TS_ASSERT_OK(ctx, clcnn_context_profile_start(ctx));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_context_profile_start(ctx));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "already running");
    TS_ASSERT_OK(ctx, clcnn_scale(ctx, t, 2.0f, t));
    TS_ASSERT_OK(ctx, clcnn_context_profile_stop(ctx, &profile));
    assert_int_equal(clcnn_profile_count(profile), 1);
    assert_int_equal(find(profile, "elementwise_scale").launches, 1);
    clcnn_profile_destroy(profile);
    TS_ASSERT_OK(ctx, clcnn_tensor_fill(t, 1.0f)); /* not profiled, no profile */

    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_context_profile_stop(ctx, &profile));
    assert_null(profile);
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "no profile is running");
    clcnn_tensor_destroy(t);
}

/* A context destroyed with a profile running lets its events go. */
static void test_destroy_while_profiling(void **state) {
    (void)state;
    clcnn_context_options options = clcnn_context_options_default();
    options.enable_profiling = 1;
    clcnn_context *ctx = ts_context_create_with(&options);
    clcnn_tensor *t = ts_vector_create(ctx, N, NULL);
    TS_ASSERT_OK(ctx, clcnn_context_profile_start(ctx));
    TS_ASSERT_OK(ctx, clcnn_tensor_fill(t, 3.0f));
    clcnn_tensor_destroy(t);
    clcnn_context_destroy(ctx);
}

/* Without enable_profiling, start fails with the reason; stop finds nothing. */
static void test_not_enabled(void **state) {
    (void)state;
    clcnn_context *ctx = ts_context_create();
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_context_profile_start(ctx));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "enable_profiling");
    clcnn_profile *profile = (clcnn_profile *)&profile;
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_context_profile_stop(ctx, &profile));
    assert_null(profile);
    int plausible = -1;
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_context_check_timestamps(ctx, &plausible));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "enable_profiling");
    assert_int_equal(plausible, -1);
    clcnn_context_destroy(ctx);
}

static void test_null_arguments(void **state) {
    clcnn_context *ctx = *state;
    clcnn_profile *profile = NULL;
    clcnn_profile_entry entry;
    clcnn_profile_totals totals;
    assert_int_equal(clcnn_context_profile_start(NULL), CLCNN_ERROR_INVALID_ARGUMENT);
    uint64_t launches = 0;
    assert_int_equal(clcnn_context_launch_count(NULL, &launches), CLCNN_ERROR_INVALID_ARGUMENT);
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_context_launch_count(ctx, NULL));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "out is NULL");
    int plausible = 0;
    assert_int_equal(clcnn_context_check_timestamps(NULL, &plausible),
                     CLCNN_ERROR_INVALID_ARGUMENT);
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_context_check_timestamps(ctx, NULL));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "plausible is NULL");
    assert_int_equal(clcnn_context_profile_stop(NULL, &profile), CLCNN_ERROR_INVALID_ARGUMENT);
    TS_ASSERT_OK(ctx, clcnn_context_profile_start(ctx));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_context_profile_stop(ctx, NULL));
    TS_ASSERT_OK(ctx, clcnn_context_profile_stop(ctx, &profile)); /* still running after NULL */
    assert_int_equal(clcnn_profile_count(NULL), 0);
    assert_int_equal(clcnn_profile_entry_get(NULL, 0, &entry), CLCNN_ERROR_INVALID_ARGUMENT);
    assert_int_equal(clcnn_profile_entry_get(profile, 0, NULL), CLCNN_ERROR_INVALID_ARGUMENT);
    assert_int_equal(clcnn_profile_find(NULL, "fill_float", &entry), CLCNN_ERROR_INVALID_ARGUMENT);
    assert_int_equal(clcnn_profile_find(profile, NULL, &entry), CLCNN_ERROR_INVALID_ARGUMENT);
    assert_int_equal(clcnn_profile_find(profile, "fill_float", NULL), CLCNN_ERROR_INVALID_ARGUMENT);
    assert_int_equal(clcnn_profile_totals_get(NULL, &totals), CLCNN_ERROR_INVALID_ARGUMENT);
    assert_int_equal(clcnn_profile_totals_get(profile, NULL), CLCNN_ERROR_INVALID_ARGUMENT);
    clcnn_profile_destroy(profile);
    clcnn_profile_destroy(NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_and_times),  cmocka_unit_test(test_long_run),
        cmocka_unit_test(test_profiles_in_a_row), cmocka_unit_test(test_destroy_while_profiling),
        cmocka_unit_test(test_not_enabled),       cmocka_unit_test(test_null_arguments),
        cmocka_unit_test(test_timestamp_rule),    cmocka_unit_test(test_clock_follows_the_check),
        cmocka_unit_test(test_launch_count),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
