/* conv2d, tiled algorithm (the GPU path): one implicit-GEMM kernel in
 * work-group tiles through local memory for all three passes
 * (cl/conv2d_tiled.cl). Backward weights splits its long reduction into
 * chunks whose partial sums a second kernel adds in a fixed order. */
#include <stdio.h>

#include "ops/conv2d_internal.h"

enum { MODE_FORWARD = 0, MODE_BACKWARD_DATA = 1, MODE_BACKWARD_WEIGHTS = 2 };

/* Reduction values staged per step (TQ in the kernel). */
#define TILED_STEP 16

/* Work-items per work-group side for a rows x cols product: 16 (256
 * work-items, 64 x 64 outputs) where the device allows it and the product
 * fills such tiles, 8 (32 x 32) or 4 (16 x 16) for thinner products
 * (depthwise convolutions have one row per group). The compiled kernel
 * may allow fewer work-items than the device (llvmpipe runs this one in
 * groups of 32), so each side is checked against its kernel, the next
 * smaller one taken where it does not fit; 0 (and no kernel) when not even
 * 16 work-items fit. */
static size_t tile_side(clcnn_context *ctx, size_t rows, size_t cols, cl_kernel *kernel) {
    size_t most = ctx->info.max_work_group_size, thin = rows < cols ? rows : cols;
    size_t side = most >= 256 && thin > 32 ? 16 : most >= 64 && thin > 16 ? 8 : 4;
    for (; side >= 4; side /= 2) {
        char options[64];
        snprintf(options, sizeof options, "-DTS=%zu -DTQ=%d", side, TILED_STEP);
        size_t allowed = 0;
        cl_kernel candidate;
        if (clcnn__kernel_get(ctx, "conv2d_tiled.cl", options, "conv2d_tiled", &candidate) ==
                CLCNN_OK &&
            clcnn__kernel_work_group_limit(ctx, candidate, &allowed) == CLCNN_OK &&
            allowed >= side * side) {
            if (kernel != NULL)
                *kernel = candidate;
            return side;
        }
    }
    return 0;
}

/* Loop trips per reduction step of conv2d_tiled, for the driver's limit:
 * llvmpipe took 130 to 150 with 4 x 4 work-items (the longest staging
 * loops); forward passes of 768 input channels (3 x 3) were right there,
 * 896 not. */
#define TILED_TRIPS_PER_STEP 160

/* Chunks of the backward-weights reduction: enough work-groups to fill a
 * large GPU (about 512), each chunk at least a few steps long and, under a
 * driver's loop-trip limit, short enough. */
static size_t weight_chunks(const clcnn_context *ctx, const clcnn__conv2d_geometry *g, size_t side,
                            size_t *chunk_len) {
    size_t tile = 4 * side;
    size_t reduction = g->n * g->ho * g->wo;
    size_t tiles =
        g->groups * ((g->kg + tile - 1) / tile) * ((g->cg * g->kh * g->kw + tile - 1) / tile);
    size_t chunks = (512 + tiles - 1) / tiles;
    size_t most = (reduction + 4 * TILED_STEP - 1) / (4 * TILED_STEP);
    if (chunks > most)
        chunks = most;
    if (chunks < 1)
        chunks = 1;
    size_t len = (reduction + chunks - 1) / chunks;
    size_t steps = clcnn__loop_trips_allowed(ctx, TILED_TRIPS_PER_STEP);
    if (steps != SIZE_MAX && len > steps * TILED_STEP)
        len = steps * TILED_STEP;
    len = (len + TILED_STEP - 1) / TILED_STEP * TILED_STEP;
    *chunk_len = len;
    return (reduction + len - 1) / len;
}

/* Whether a pass's reduction (input channels x taps forward, output
 * channels x taps backward data) stays under the driver's loop-trip limit
 * in one work-item; the weight pass splits its reduction instead. */
static int reduction_fits(const clcnn_context *ctx, const clcnn__conv2d_geometry *g,
                          clcnn__conv2d_pass pass) {
    size_t reduction = (pass == CLCNN__CONV2D_FORWARD ? g->cg : g->kg) * g->kh * g->kw;
    size_t steps = (reduction + TILED_STEP - 1) / TILED_STEP;
    return pass == CLCNN__CONV2D_BACKWARD_WEIGHTS ||
           steps <= clcnn__loop_trips_allowed(ctx, TILED_TRIPS_PER_STEP);
}

int clcnn__conv2d_tiled_supports(clcnn_context *ctx, const clcnn__conv2d_geometry *g,
                                 clcnn__conv2d_pass pass) {
    size_t side = tile_side(ctx, g->kg, g->cg * g->kh * g->kw, NULL);
    if (side == 0 || !reduction_fits(ctx, g, pass))
        return 0;
    if (pass != CLCNN__CONV2D_BACKWARD_WEIGHTS)
        return 1;
    size_t chunk_len;
    double partial =
        (double)weight_chunks(ctx, g, side, &chunk_len) * (double)(g->k * g->cg * g->kh * g->kw);
    return partial <= (double)CLCNN__CONV2D_MAX_ELEMENTS;
}

/* Runs conv2d_tiled over `col` x `rows`
 * outputs per group and `depth` groups (x chunks). */
static clcnn_status run_tiled(clcnn_context *ctx, const clcnn__conv2d_geometry *g, int mode,
                              cl_mem w, cl_mem x, cl_mem dy, cl_mem out, cl_mem bias,
                              int accumulate, size_t chunks, size_t chunk_len, size_t cols,
                              size_t rows) {
    cl_kernel kernel = NULL;
    size_t side = tile_side(ctx, rows, cols, &kernel);
    if (side == 0)
        return clcnn__fail(ctx, CLCNN_ERROR_UNSUPPORTED,
                           "conv2d tiled: the device runs conv2d_tiled in work-groups of fewer "
                           "than 16 work-items");
    cl_mem any = w != NULL ? w : x;
    clcnn__launch launch = clcnn__launch_begin(ctx, kernel);
    clcnn__arg_mem(&launch, w != NULL ? w : any); /* unread operands get a stand-in */
    clcnn__arg_mem(&launch, x != NULL ? x : any);
    clcnn__arg_mem(&launch, dy != NULL ? dy : any);
    clcnn__arg_mem(&launch, out);
    clcnn__arg_mem(&launch, bias != NULL ? bias : any);
    clcnn__arg_int(&launch, bias != NULL);
    clcnn__arg_int(&launch, (size_t)accumulate);
    clcnn__arg_int(&launch, (size_t)mode);
    clcnn__arg_int(&launch, chunks);
    clcnn__arg_int(&launch, chunk_len);
    const size_t values[] = {g->n,  g->c,  g->h,  g->w,  g->k,  g->kh, g->kw, g->ho, g->wo,
                             g->sh, g->sw, g->ph, g->pw, g->dh, g->dw, g->cg, g->kg};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
        clcnn__arg_int(&launch, values[i]);
    /* The kernel requires work-groups of side x side, which tile_side
     * checked against the compiled kernel. */
    size_t tile = 4 * side;
    const size_t local[3] = {side, side, 1};
    const size_t global[3] = {(cols + tile - 1) / tile * side, (rows + tile - 1) / tile * side,
                              g->groups * chunks};
    return clcnn__launch_run(&launch, 3, global, local);
}

clcnn_status clcnn__conv2d_tiled_forward(clcnn_context *ctx, const clcnn__conv2d_geometry *g,
                                         cl_mem x, cl_mem w, cl_mem bias, cl_mem y) {
    return run_tiled(ctx, g, MODE_FORWARD, w, x, NULL, y, bias, 0, 1, 0, g->n * g->ho * g->wo,
                     g->kg);
}

clcnn_status clcnn__conv2d_tiled_backward_data(clcnn_context *ctx, const clcnn__conv2d_geometry *g,
                                               cl_mem dy, cl_mem w, cl_mem dx, int accumulate) {
    return run_tiled(ctx, g, MODE_BACKWARD_DATA, w, NULL, dy, dx, NULL, accumulate, 1, 0,
                     g->n * g->h * g->w, g->cg);
}

clcnn_status clcnn__conv2d_tiled_backward_weights(clcnn_context *ctx,
                                                  const clcnn__conv2d_geometry *g, cl_mem x,
                                                  cl_mem dy, cl_mem dw, int accumulate) {
    size_t chunk_len, count = g->k * g->cg * g->kh * g->kw;
    size_t side = tile_side(ctx, g->kg, g->cg * g->kh * g->kw, NULL);
    size_t chunks = weight_chunks(ctx, g, side, &chunk_len);
    cl_mem partial, target;
    clcnn_status status = clcnn__conv2d_partial_target(ctx, dw, count, chunks, &partial, &target);
    if (status == CLCNN_OK)
        status =
            run_tiled(ctx, g, MODE_BACKWARD_WEIGHTS, NULL, x, dy, target, NULL,
                      chunks > 1 ? 0 : accumulate, chunks, chunk_len, g->cg * g->kh * g->kw, g->kg);
    if (status == CLCNN_OK && chunks > 1)
        status = clcnn__conv2d_reduce_partials(ctx, partial, dw, count, chunks, accumulate);
    if (partial != NULL)
        clcnn__buffer_release(ctx, partial);
    return status;
}
