/* The auto-tuner's shared machinery (ops/tune_common.h): the timing loop,
 * the search over one key's candidates, and storing the winners at the end
 * of a tuning call, all or none. Each op's tuner supplies its candidates
 * as typed choices and a function that runs the op once with an explicit
 * choice: the table changes only when the call has measured everything. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ops/tune_common.h"

/* A candidate whose first timed run is slower than this many times the best
 * median so far is not run again. */
#define TUNE_CUTOFF_FACTOR 3.0

/* Another candidate replaces the built-in choice only when faster by more
 * than this fraction: noise alone should not churn the table. */
#define TUNE_MARGIN 0.03

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One unmeasured run, then up to `repeats` runs each timed from an idle
 * queue to its end; *median gets their median. Stops after the first timed
 * run when that is above cutoff_ms (0: no cutoff). */
static clcnn_status measure(clcnn_context *ctx, clcnn__tune_run run,
                            const clcnn__tuned_choice *choice, void *arg, size_t repeats,
                            double cutoff_ms, double *samples, double *median) {
    clcnn_status status = run(ctx, choice, arg);
    if (status == CLCNN_OK)
        status = clcnn_context_finish(ctx);
    size_t taken = 0;
    while (status == CLCNN_OK && taken < repeats) {
        double start = now_ms();
        status = run(ctx, choice, arg);
        if (status == CLCNN_OK)
            status = clcnn_context_finish(ctx);
        samples[taken++] = now_ms() - start;
        if (taken == 1 && cutoff_ms > 0.0 && samples[0] > cutoff_ms)
            break;
    }
    if (status != CLCNN_OK)
        return status;
    qsort(samples, taken, sizeof *samples, compare_doubles);
    *median =
        taken % 2 == 1 ? samples[taken / 2] : 0.5 * (samples[taken / 2 - 1] + samples[taken / 2]);
    return CLCNN_OK;
}

clcnn_status clcnn__tune_key(clcnn_context *ctx, const char *key,
                             const clcnn__tuned_choice *builtin,
                             const clcnn__tuned_choice *candidates, size_t count, size_t repeats,
                             clcnn__tune_run run, void *arg, clcnn_tune_result *result,
                             clcnn__tuned_choice *winner) {
    memset(result, 0, sizeof *result);
    snprintf(result->key, sizeof result->key, "%s", key);
    clcnn__tuned_choice_format(builtin, result->default_choice, sizeof result->default_choice);
    double *samples =
        repeats <= SIZE_MAX / sizeof(double) ? malloc(repeats * sizeof(double)) : NULL;
    if (samples == NULL)
        return clcnn__fail(ctx, CLCNN_ERROR_OUT_OF_HOST_MEMORY, "tuning %s: out of host memory",
                           key);
    clcnn_status status =
        measure(ctx, run, builtin, arg, repeats, 0.0, samples, &result->default_ms);
    *winner = *builtin;
    result->best_ms = result->default_ms;
    result->candidates = 1;
    for (size_t i = 0; i < count && status == CLCNN_OK; i++) {
        if (clcnn__tuned_choice_equal(&candidates[i], builtin))
            continue;
        double ms = 0.0;
        status = measure(ctx, run, &candidates[i], arg, repeats,
                         TUNE_CUTOFF_FACTOR * result->best_ms, samples, &ms);
        if (status != CLCNN_OK)
            break;
        result->candidates++;
        int builtin_leads = clcnn__tuned_choice_equal(winner, builtin);
        if (ms < result->best_ms * (builtin_leads ? 1.0 - TUNE_MARGIN : 1.0)) {
            result->best_ms = ms;
            *winner = candidates[i];
        }
    }
    free(samples);
    clcnn__tuned_choice_format(winner, result->choice, sizeof result->choice);
    return status;
}

clcnn_status clcnn__tune_snapshot_take(clcnn_context *ctx, const char *op, const char *const *keys,
                                       size_t count, clcnn__tune_snapshot *snapshot) {
    memset(snapshot, 0, sizeof *snapshot);
    size_t new_keys = 0;
    for (size_t i = 0; i < count; i++) {
        clcnn__tuning_entry *saved = &snapshot->entries[i];
        if (strlen(keys[i]) >= sizeof saved->key)
            return clcnn__fail(ctx, CLCNN_ERROR_SIZE_OVERFLOW, "%s: the key %s is too long", op,
                               keys[i]);
        const clcnn__tuning_entry *old = clcnn__tuning_find(ctx, keys[i]);
        snapshot->had[i] = old != NULL;
        if (old != NULL)
            *saved = *old;
        else
            memcpy(saved->key, keys[i], strlen(keys[i]) + 1);
        new_keys += old == NULL;
    }
    snapshot->count = count;
    if (clcnn__tuning_count(ctx) + new_keys > CLCNN_TUNE_MAX_ENTRIES)
        return clcnn__fail(ctx, CLCNN_ERROR_OUT_OF_RANGE,
                           "%s: the tuning table holds %zu of its %d entries, no room for %zu "
                           "more; clear it to tune more shapes",
                           op, clcnn__tuning_count(ctx), CLCNN_TUNE_MAX_ENTRIES, new_keys);
    return CLCNN_OK;
}

void clcnn__tune_snapshot_restore(clcnn_context *ctx, const clcnn__tune_snapshot *snapshot) {
    for (size_t i = 0; i < snapshot->count; i++) {
        const clcnn__tuning_entry *saved = &snapshot->entries[i];
        clcnn__tuning_remove(ctx, saved->key);
        if (snapshot->had[i])
            clcnn__tuning_set(ctx, saved->key, &saved->choice, saved->ms, saved->default_ms);
    }
}

clcnn_status clcnn__tune_finish(clcnn_context *ctx, clcnn_status status,
                                const clcnn__tune_snapshot *snapshot,
                                const clcnn__tuned_choice *winners,
                                const clcnn_tune_result *outcome, size_t n,
                                clcnn_tune_result *results, size_t *count) {
    for (size_t i = 0; i < n && status == CLCNN_OK; i++)
        status = clcnn__tuning_set(ctx, outcome[i].key, &winners[i], outcome[i].best_ms,
                                   outcome[i].default_ms);
    if (status != CLCNN_OK) {
        clcnn__tune_snapshot_restore(ctx, snapshot);
        return status;
    }
    if (results != NULL)
        memcpy(results, outcome, n * sizeof *outcome);
    if (count != NULL)
        *count = n;
    return CLCNN_OK;
}
