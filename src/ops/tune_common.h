/* The auto-tuner's shared machinery (internal): timing a candidate, trying
 * every candidate of one tuning key, and storing the winners of a tuning
 * call at its end, all or none. Used by conv2d_tune.c,
 * gemm_tune.c and pointwise.c. Not installed. */
#ifndef CLCNN_OPS_TUNE_COMMON_H
#define CLCNN_OPS_TUNE_COMMON_H

#include "clcnn/tune.h"
#include "runtime/internal.h"

/* Runs the measured operation once on ctx's queue (asynchronously) with
 * the given choice, of the family of the key being tuned. */
typedef clcnn_status (*clcnn__tune_run)(clcnn_context *ctx, const clcnn__tuned_choice *choice,
                                        void *arg);

/* Measures the built-in choice, then each of the `count` candidates, each
 * by running `run` with it (the table is not touched), and writes the
 * outcome for key to *result (choices as text) and the fastest choice to
 * *winner, for clcnn__tune_finish to store. Timing as clcnn/tune.h says:
 * one unmeasured run, then `repeats` timed runs from an idle queue to
 * clFinish, their median; a candidate whose first timed run is over three
 * times the best median so far stops there; another choice beats the
 * built-in one only when more than 3 % faster. Candidates equal to the
 * built-in choice are skipped. Errors: those of run,
 * CLCNN_ERROR_OUT_OF_HOST_MEMORY. */
clcnn_status clcnn__tune_key(clcnn_context *ctx, const char *key,
                             const clcnn__tuned_choice *builtin,
                             const clcnn__tuned_choice *candidates, size_t count, size_t repeats,
                             clcnn__tune_run run, void *arg, clcnn_tune_result *result,
                             clcnn__tuned_choice *winner);

/* The most keys one tuning call stores. */
#define CLCNN__TUNE_MAX_KEYS 4

/* The entries of a tuning call's keys as they were before it. */
typedef struct clcnn__tune_snapshot {
    size_t count;
    int had[CLCNN__TUNE_MAX_KEYS];
    clcnn__tuning_entry entries[CLCNN__TUNE_MAX_KEYS];
} clcnn__tune_snapshot;

/* Records the entries of keys[0 .. count-1] (count <= CLCNN__TUNE_MAX_KEYS)
 * and checks that the table has room for those it lacks:
 * CLCNN_ERROR_OUT_OF_RANGE (message names op) when not, and
 * CLCNN_ERROR_SIZE_OVERFLOW when a key is too long. */
clcnn_status clcnn__tune_snapshot_take(clcnn_context *ctx, const char *op, const char *const *keys,
                                       size_t count, clcnn__tune_snapshot *snapshot);

/* Puts the recorded entries back (removing those keys had none). */
void clcnn__tune_snapshot_restore(clcnn_context *ctx, const clcnn__tune_snapshot *snapshot);

/* Ends a tuning call that measured `n` keys with `status`: on success
 * stores winners[i] under outcome[i].key with its medians (all or, should
 * that fail, none: the snapshot goes back), then copies outcome[0 .. n-1]
 * to results and n to *count (each when not NULL); on failure leaves the
 * table as the snapshot has it. Returns status, or the storing's. */
clcnn_status clcnn__tune_finish(clcnn_context *ctx, clcnn_status status,
                                const clcnn__tune_snapshot *snapshot,
                                const clcnn__tuned_choice *winners,
                                const clcnn_tune_result *outcome, size_t n,
                                clcnn_tune_result *results, size_t *count);

#endif
