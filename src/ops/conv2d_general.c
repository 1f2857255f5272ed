/* conv2d, general algorithm: plain loops with bounds checks that accept every
 * parameter combination (cl/conv2d.cl), and the bias gradient every
 * algorithm shares. */
#include "ops/conv2d_internal.h"

/* Outputs per work-item along a row: several on CPUs, one elsewhere (see
 * GW in cl/conv2d.cl; the CPU value is the file's default). */
static size_t outputs_per_item(const clcnn_context *ctx) {
    return ctx->choices.conv2d.general_outputs == 8 ? 8 : 1;
}

/* Appends the geometry in the order of CONV2D_GEOMETRY in cl/conv2d.cl. */
static void arg_geometry(clcnn__launch *launch, const clcnn__conv2d_geometry *g) {
    const size_t values[] = {g->n,  g->c,  g->h,  g->w,  g->k,  g->kh, g->kw, g->ho, g->wo,
                             g->sh, g->sw, g->ph, g->pw, g->dh, g->dw, g->cg, g->kg};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
        clcnn__arg_int(launch, values[i]);
}

/* Appends the geometry, which ends every general kernel's arguments, and
 * runs it. */
static clcnn_status launch_general(clcnn__launch *launch, const clcnn__conv2d_geometry *g,
                                   cl_uint dims, const size_t *global, const size_t *local) {
    arg_geometry(launch, g);
    return clcnn__conv2d_launch(launch, dims, global, local);
}

/* Channels of the reduction one launch of a general kernel may sum under
 * the driver's loop-trip limit (all of them where there is none): each
 * costs a trip per tap row and per tap times the outputs per work-item. */
static size_t channels_per_launch(const clcnn_context *ctx, const clcnn__conv2d_geometry *g,
                                  size_t per_item) {
    return clcnn__loop_trips_allowed(ctx, 2 + g->kh * (1 + g->kw * (1 + per_item)));
}

/* Appends the slice [begin, begin + step) of the `total` reduction
 * channels (clipped) that one launch of a forward or backward-data kernel
 * sums, then runs it: per image, planes x rows x ceil(cols / per_item)
 * work-items, 4 along the row. */
static clcnn_status run_channel_slice(clcnn__launch *launch, const clcnn__conv2d_geometry *g,
                                      size_t begin, size_t step, size_t total, size_t per_item,
                                      size_t planes, size_t rows, size_t cols) {
    clcnn__arg_int(launch, begin);
    clcnn__arg_int(launch, total - begin > step ? begin + step : total);
    const size_t global[3] = {rows * ((cols + per_item - 1) / per_item), planes, g->n};
    const size_t local[3] = {4, 1, 1};
    return launch_general(launch, g, 3, global, local);
}

clcnn_status clcnn__conv2d_general_forward(clcnn_context *ctx, const clcnn__conv2d_geometry *g,
                                           cl_mem x, cl_mem w, cl_mem bias, cl_mem y) {
    size_t per_item = outputs_per_item(ctx);
    size_t step = channels_per_launch(ctx, g, per_item);
    clcnn_status status = CLCNN_OK;
    for (size_t begin = 0; status == CLCNN_OK && begin < g->cg; begin += step) {
        clcnn__launch launch;
        status = clcnn__conv2d_prepare(ctx, "conv2d_fwd_general", &launch);
        if (status != CLCNN_OK)
            return status;
        clcnn__arg_mem(&launch, x);
        clcnn__arg_mem(&launch, w);
        clcnn__arg_mem(&launch, bias != NULL ? bias : w); /* unread without a bias */
        clcnn__arg_int(&launch, bias != NULL);
        clcnn__arg_mem(&launch, y);
        status = run_channel_slice(&launch, g, begin, step, g->cg, per_item, g->k, g->ho, g->wo);
    }
    return status;
}

clcnn_status clcnn__conv2d_general_backward_data(clcnn_context *ctx,
                                                 const clcnn__conv2d_geometry *g, cl_mem dy,
                                                 cl_mem w, cl_mem dx, int accumulate) {
    size_t per_item = outputs_per_item(ctx);
    size_t step = channels_per_launch(ctx, g, per_item);
    clcnn_status status = CLCNN_OK;
    for (size_t begin = 0; status == CLCNN_OK && begin < g->kg; begin += step) {
        clcnn__launch launch;
        status = clcnn__conv2d_prepare(ctx, "conv2d_bwd_data_general", &launch);
        if (status != CLCNN_OK)
            return status;
        clcnn__arg_mem(&launch, dy);
        clcnn__arg_mem(&launch, w);
        clcnn__arg_mem(&launch, dx);
        clcnn__arg_int(&launch, begin > 0 || accumulate);
        status = run_channel_slice(&launch, g, begin, step, g->kg, per_item, g->c, g->h, g->w);
    }
    return status;
}

clcnn_status clcnn__conv2d_general_backward_weights(clcnn_context *ctx,
                                                    const clcnn__conv2d_geometry *g, cl_mem x,
                                                    cl_mem dy, cl_mem dw, int accumulate) {
    /* A work-item sums whole output rows: as many as the driver's loop-trip
     * limit allows (every row where there is none). */
    size_t rows = g->n * g->ho, chunk_rows = clcnn__loop_trips_allowed(ctx, g->wo + 2);
    if (chunk_rows > rows)
        chunk_rows = rows;
    size_t chunks = (rows + chunk_rows - 1) / chunk_rows, count = g->k * g->cg * g->kh * g->kw;
    clcnn__launch launch;
    cl_mem partial, target;
    clcnn_status status = clcnn__conv2d_partial_target(ctx, dw, count, chunks, &partial, &target);
    if (status == CLCNN_OK)
        status = clcnn__conv2d_prepare(ctx, "conv2d_bwd_weights_general", &launch);
    if (status == CLCNN_OK) {
        clcnn__arg_mem(&launch, x);
        clcnn__arg_mem(&launch, dy);
        clcnn__arg_mem(&launch, target);
        clcnn__arg_int(&launch, (size_t)accumulate);
        clcnn__arg_int(&launch, chunk_rows);
        clcnn__arg_int(&launch, chunks);
        const size_t global[2] = {count, chunks}, local[2] = {4, 1};
        status = launch_general(&launch, g, 2, global, local);
    }
    if (status == CLCNN_OK && chunks > 1)
        status = clcnn__conv2d_reduce_partials(ctx, partial, dw, count, chunks, accumulate);
    if (partial != NULL)
        clcnn__buffer_release(ctx, partial);
    return status;
}

/* Work-items per group of conv2d_bias_grad_groups (BIAS_WG in conv2d.cl). */
#define BIAS_GROUP_SIZE 64

/* Elements of dy one work-item of the bias gradient may sum under the
 * driver's loop-trip limit: about one trip per 8 elements, plus up to 8 per
 * image it touches. */
static size_t bias_chunk_length(const clcnn_context *ctx, const clcnn__conv2d_geometry *g) {
    size_t total = g->n * g->ho * g->wo, trips = clcnn__loop_trips_allowed(ctx, 1);
    if (trips == SIZE_MAX)
        return total;
    double per_element = 8.0 / (double)(g->ho * g->wo) + 1.0 / 8.0;
    double length = (double)(trips > 16 ? trips - 16 : 1) / per_element;
    return length >= (double)total ? total : length >= 1.0 ? (size_t)length : 1;
}

/* Whether the work-group bias kernel runs here: not on CPUs (one work-item
 * per channel suits them), and only where the compiled kernel takes its
 * fixed work-group size. */
static clcnn_status bias_grouped(clcnn_context *ctx, int *grouped) {
    *grouped = 0;
    if (!ctx->choices.conv2d.bias_work_groups || ctx->info.max_work_group_size < BIAS_GROUP_SIZE)
        return CLCNN_OK;
    clcnn__launch launch;
    size_t allowed = 0;
    clcnn_status status = clcnn__conv2d_prepare(ctx, "conv2d_bias_grad_groups", &launch);
    if (status == CLCNN_OK)
        status = clcnn__kernel_work_group_limit(ctx, launch.kernel, &allowed);
    *grouped = status == CLCNN_OK && allowed >= BIAS_GROUP_SIZE;
    return status;
}

/* On CPUs one work-item per output channel, each its own work-group (spread
 * over the cores); elsewhere one work-group per channel with a tree sum
 * (conv2d_bias_grad_groups requires work-groups of BIAS_GROUP_SIZE, which
 * bias_grouped checked). */
clcnn_status clcnn__conv2d_bias_grad(clcnn_context *ctx, const clcnn__conv2d_geometry *g, cl_mem dy,
                                     cl_mem db, int accumulate) {
    size_t total = g->n * g->ho * g->wo, chunk_len = bias_chunk_length(ctx, g);
    size_t chunks = (total + chunk_len - 1) / chunk_len;
    int grouped = 0;
    clcnn__launch launch;
    cl_mem partial, target;
    clcnn_status status = bias_grouped(ctx, &grouped);
    if (status == CLCNN_OK)
        status = clcnn__conv2d_prepare(
            ctx, grouped ? "conv2d_bias_grad_groups" : "conv2d_bias_grad", &launch);
    if (status == CLCNN_OK)
        status = clcnn__conv2d_partial_target(ctx, db, g->k, chunks, &partial, &target);
    if (status != CLCNN_OK)
        return status;
    clcnn__arg_mem(&launch, dy);
    clcnn__arg_mem(&launch, target);
    clcnn__arg_int(&launch, (size_t)accumulate);
    clcnn__arg_int(&launch, g->n);
    clcnn__arg_int(&launch, g->k);
    clcnn__arg_int(&launch, g->ho * g->wo);
    clcnn__arg_int(&launch, chunk_len);
    clcnn__arg_int(&launch, chunks);
    const size_t local[2] = {grouped ? BIAS_GROUP_SIZE : 1, 1};
    const size_t global[2] = {g->k * local[0], chunks};
    status = clcnn__launch_run(&launch, 2, global, local);
    if (status == CLCNN_OK && chunks > 1)
        status = clcnn__conv2d_reduce_partials(ctx, partial, db, g->k, chunks, accumulate);
    if (partial != NULL)
        clcnn__buffer_release(ctx, partial);
    return status;
}
