/* GEMM's side of auto-tuning (clcnn/tune.h): clcnn_gemm_tune measures the
 * candidates of ops/gemm.c on one product, each run with its configuration
 * given explicitly, and stores the fastest under the key of the product's
 * shape bucket. */
#include <stdint.h>

#include "ops/gemm.h"
#include "ops/tune_common.h"

/* The product one measured run forms: c = a . b. */
typedef struct gemm_run {
    clcnn_tensor *a, *b, *c;
} gemm_run;

/* c = a . b as clcnn_gemm forms it, with the configuration chosen. */
static clcnn_status run_gemm(clcnn_context *ctx, const clcnn__tuned_choice *choice, void *arg) {
    const gemm_run *r = arg;
    size_t m = r->c->dims[0], n = r->c->dims[1], k = r->a->dims[1];
    return clcnn__gemm_configured(ctx, &choice->as.gemm, 0, 0, m, n, k, 1.0f, r->a->storage->mem, 0,
                                  k, r->b->storage->mem, 0, n, 0.0f, r->c->storage->mem, 0, n);
}

/* The operands, holding constant values of ordinary magnitude. */
static clcnn_status operands_make(clcnn_context *ctx, size_t m, size_t n, size_t k, gemm_run *r) {
    const size_t a_dims[2] = {m, k}, b_dims[2] = {k, n}, c_dims[2] = {m, n};
    clcnn_status status = clcnn_tensor_create(ctx, 2, a_dims, &r->a);
    if (status == CLCNN_OK)
        status = clcnn_tensor_create(ctx, 2, b_dims, &r->b);
    if (status == CLCNN_OK)
        status = clcnn_tensor_create(ctx, 2, c_dims, &r->c);
    if (status == CLCNN_OK)
        status = clcnn_tensor_fill(r->a, 0.5f);
    if (status == CLCNN_OK)
        status = clcnn_tensor_fill(r->b, 0.25f);
    return status;
}

static clcnn_status gemm_tune(clcnn_context *context, size_t m, size_t n, size_t k, size_t repeats,
                              clcnn_tune_result *result) {
    static const char op[] = "clcnn_gemm_tune";
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    if (repeats == 0)
        return clcnn__fail(context, CLCNN_ERROR_INVALID_ARGUMENT, "%s: repeats is 0", op);
    if (m == 0 || n == 0 || k == 0)
        return clcnn__fail(context, CLCNN_ERROR_INVALID_SHAPE,
                           "%s: %zu x %zu x %zu has an empty dimension", op, m, n, k);
    if (m > UINT32_MAX || n > UINT32_MAX || k > UINT32_MAX)
        return clcnn__fail(context, CLCNN_ERROR_SIZE_OVERFLOW,
                           "%s: %zu x %zu x %zu exceeds 2^32 - 1 in a dimension", op, m, n, k);
    char key[CLCNN_TUNE_KEY_MAX];
    if (!clcnn__gemm_tuning_key(m, n, k, key, sizeof key))
        return clcnn__fail(context, CLCNN_ERROR_SIZE_OVERFLOW, "%s: the shape's key is too long",
                           op);
    const char *keys[1] = {key};
    clcnn__tune_snapshot snapshot;
    clcnn_status status = clcnn__tune_snapshot_take(context, op, keys, 1, &snapshot);
    if (status != CLCNN_OK)
        return status;
    gemm_run run = {NULL, NULL, NULL};
    clcnn_tune_result outcome;
    clcnn__tuned_choice winner;
    status = operands_make(context, m, n, k, &run);
    if (status == CLCNN_OK) {
        clcnn__tuned_choice builtin = {CLCNN__TUNED_GEMM, {.gemm = context->choices.gemm}};
        clcnn__tuned_choice candidates[CLCNN__GEMM_MAX_CANDIDATES];
        size_t count = clcnn__gemm_candidates(context, candidates);
        status = clcnn__tune_key(context, key, &builtin, candidates, count, repeats, run_gemm, &run,
                                 &outcome, &winner);
    }
    clcnn_tensor_destroy(run.a);
    clcnn_tensor_destroy(run.b);
    clcnn_tensor_destroy(run.c);
    return clcnn__tune_finish(context, status, &snapshot, &winner, &outcome, 1, result, NULL);
}

clcnn_status clcnn_gemm_tune(clcnn_context *context, size_t m, size_t n, size_t k, size_t repeats,
                             clcnn_tune_result *result) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(context);
    return clcnn__named(context, mark, __func__, gemm_tune(context, m, n, k, repeats, result));
}

/* Naming a key needs no device: the caller may ask before it has one. */
clcnn_status clcnn_gemm_tune_key(size_t m, size_t n, size_t k, char key[CLCNN_TUNE_KEY_MAX]) {
    if (key == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    key[0] = '\0';
    if (m == 0 || n == 0 || k == 0)
        return CLCNN_ERROR_INVALID_SHAPE;
    /* Three buckets of at most 20 digits each always fit the key's room. */
    clcnn__gemm_tuning_key(m, n, k, key, CLCNN_TUNE_KEY_MAX);
    return CLCNN_OK;
}
