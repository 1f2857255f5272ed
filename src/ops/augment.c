/* Random crop and flip on the device (cl/augment.cl): parameter checks, the
 * flip threshold computed once on the host as an integer (as dropout's),
 * and one launch over the output rows. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>

#include "clcnn/augment.h"
#include "runtime/internal.h"

/* The kernel works with int coordinates: pad up to 2^24 and planes below
 * 2^30 elements keep every sum of them inside an int. */
#define PAD_LIMIT ((size_t)1 << 24)
#define PLANE_LIMIT ((size_t)1 << 30)

/* Rows per work-group (fitted to the kernel). */
#define ROWS_PER_GROUP 64

clcnn_augment_params clcnn_augment_params_default(void) {
    clcnn_augment_params params;
    params.pad = 2;
    params.flip_probability = 0.5f;
    params.seed = 0;
    params.epoch = 0;
    params.first_sample_index = 0;
    return params;
}

static clcnn_status check_params(clcnn_context *ctx, const clcnn_augment_params *params) {
    if (params == NULL)
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT, "params is NULL");
    if (params->pad > PAD_LIMIT)
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT, "pad %zu exceeds %zu", params->pad,
                           PAD_LIMIT);
    const float p = params->flip_probability;
    if (!(p >= 0.0f && p <= 1.0f))
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                           "flip_probability %g is not in [0, 1]", (double)p);
    return CLCNN_OK;
}

static clcnn_status check_tensors(clcnn_context *ctx, const clcnn_augment_params *params,
                                  const clcnn_tensor *x, const clcnn_tensor *y) {
    clcnn_status status = clcnn__check_tensor(ctx, x, "x");
    if (status == CLCNN_OK)
        status = clcnn__check_tensor(ctx, y, "y");
    if (status == CLCNN_OK)
        status = clcnn__check_rank(ctx, "x", x, 4, 4);
    if (status == CLCNN_OK)
        status = clcnn__check_same_shape(ctx, "clcnn_augment_crop_flip", "x", x, "y", y);
    if (status == CLCNN_OK)
        status = clcnn__check_distinct(ctx, "clcnn_augment_crop_flip", "x", x, "y", y);
    if (status != CLCNN_OK)
        return status;
    if (x->dims[2] * x->dims[3] >= PLANE_LIMIT)
        return clcnn__fail(ctx, CLCNN_ERROR_SIZE_OVERFLOW,
                           "planes of %zu x %zu elements exceed the kernel's 2^30", x->dims[2],
                           x->dims[3]);
    if (x->dims[0] - 1 > UINT64_MAX - params->first_sample_index)
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                           "first_sample_index %llu plus %zu samples passes 2^64 - 1",
                           (unsigned long long)params->first_sample_index, x->dims[0]);
    return CLCNN_OK;
}

/* floor(p * 2^32) as a 64-bit integer, 2^32 for p = 1: flip iff word <
 * threshold. Exact in double. */
static uint64_t flip_threshold(float p) {
    return (uint64_t)floor(ldexp((double)p, 32));
}

static clcnn_status augment(clcnn_context *ctx, const clcnn_augment_params *params,
                            const clcnn_tensor *x, clcnn_tensor *y) {
    clcnn_status status = check_params(ctx, params);
    if (status == CLCNN_OK)
        status = check_tensors(ctx, params, x, y);
    clcnn__launch launch;
    if (status == CLCNN_OK)
        status = clcnn__launch_prepare(ctx, "augment.cl", NULL, "augment_crop_flip", &launch);
    if (status != CLCNN_OK)
        return status;
    const size_t rows = x->dims[0] * x->dims[1] * x->dims[2], width = x->dims[3];
    /* A row costs a trip per column: split long rows under a trip limit. */
    const size_t allowed = clcnn__loop_trips_allowed(ctx, 1);
    const size_t span = width < allowed ? width : allowed;
    clcnn__arg_tensor(&launch, x);
    clcnn__arg_tensor(&launch, y);
    clcnn__arg_ulong(&launch, rows);
    clcnn__arg_int(&launch, x->dims[1]);
    clcnn__arg_int(&launch, x->dims[2]);
    clcnn__arg_int(&launch, width);
    clcnn__arg_int(&launch, params->pad);
    clcnn__arg_int(&launch, span);
    clcnn__arg_uint(&launch, (uint32_t)params->seed);
    clcnn__arg_uint(&launch, (uint32_t)(params->seed >> 32));
    clcnn__arg_uint(&launch, (uint32_t)params->epoch);
    clcnn__arg_uint(&launch, (uint32_t)(params->epoch >> 32));
    clcnn__arg_ulong(&launch, params->first_sample_index);
    clcnn__arg_ulong(&launch, flip_threshold(params->flip_probability));
    const size_t local[2] = {ROWS_PER_GROUP, 1};
    const size_t global[2] = {clcnn__round_up(rows, ROWS_PER_GROUP), (width + span - 1) / span};
    return clcnn__launch_run_fitted(&launch, 2, global, local);
}

clcnn_status clcnn_augment_crop_flip(clcnn_context *context, const clcnn_augment_params *params,
                                     const clcnn_tensor *x, clcnn_tensor *y) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(context);
    return clcnn__named(context, mark, __func__, augment(context, params, x, y));
}
