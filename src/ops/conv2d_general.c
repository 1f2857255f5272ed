/* conv2d, general algorithm: plain loops with bounds checks that accept every
 * parameter combination (cl/conv2d.cl), and the bias gradient every
 * algorithm shares. */
#include "ops/conv2d_internal.h"

/* Outputs per work-item along a row: several on CPUs, one elsewhere (see
 * GW in cl/conv2d.cl; the CPU value is the file's default). */
static const char *general_options(const clcnn_context *ctx, size_t *outputs_per_item) {
    *outputs_per_item = ctx->info.type == CLCNN_DEVICE_TYPE_CPU ? 8 : 1;
    return clcnn__conv2d_helper_options(ctx);
}

/* Appends the geometry in the order of CONV2D_GEOMETRY in cl/conv2d.cl. */
static void arg_geometry(clcnn__conv2d_args *args, const clcnn__conv2d_geometry *g) {
    const size_t values[] = {g->n,  g->c,  g->h,  g->w,  g->k,  g->kh, g->kw, g->ho, g->wo,
                             g->sh, g->sw, g->ph, g->pw, g->dh, g->dw, g->cg, g->kg};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
        clcnn__conv2d_arg_int(args, values[i]);
}

/* The general kernel `name` with its argument list started. */
static clcnn_status begin_general(clcnn_context *ctx, const char *name, size_t *per_item,
                                  clcnn__conv2d_args *args) {
    cl_kernel kernel;
    clcnn_status status =
        clcnn__kernel_get(ctx, "conv2d.cl", general_options(ctx, per_item), name, &kernel);
    if (status == CLCNN_OK)
        *args = clcnn__conv2d_args_begin(kernel);
    return status;
}

/* Appends the geometry, which ends every general kernel's arguments, and
 * enqueues. */
static clcnn_status launch_general(clcnn_context *ctx, clcnn__conv2d_args *args,
                                   const clcnn__conv2d_geometry *g, cl_uint dims,
                                   const size_t *global, const size_t *local) {
    arg_geometry(args, g);
    clcnn_status status = clcnn__conv2d_args_done(ctx, args);
    if (status != CLCNN_OK)
        return status;
    return clcnn__conv2d_launch(ctx, args->kernel, dims, global, local);
}

clcnn_status clcnn__conv2d_general_forward(clcnn_context *ctx, const clcnn__conv2d_geometry *g,
                                           cl_mem x, cl_mem w, cl_mem bias, cl_mem y) {
    size_t per_item;
    clcnn__conv2d_args args;
    clcnn_status status = begin_general(ctx, "conv2d_fwd_general", &per_item, &args);
    if (status != CLCNN_OK)
        return status;
    clcnn__conv2d_arg_mem(&args, x);
    clcnn__conv2d_arg_mem(&args, w);
    clcnn__conv2d_arg_mem(&args, bias != NULL ? bias : w); /* unread without a bias */
    clcnn__conv2d_arg_int(&args, bias != NULL);
    clcnn__conv2d_arg_mem(&args, y);
    const size_t global[3] = {g->ho * ((g->wo + per_item - 1) / per_item), g->k, g->n};
    const size_t local[3] = {4, 1, 1};
    return launch_general(ctx, &args, g, 3, global, local);
}

clcnn_status clcnn__conv2d_general_backward_data(clcnn_context *ctx,
                                                 const clcnn__conv2d_geometry *g, cl_mem dy,
                                                 cl_mem w, cl_mem dx, int accumulate) {
    size_t per_item;
    clcnn__conv2d_args args;
    clcnn_status status = begin_general(ctx, "conv2d_bwd_data_general", &per_item, &args);
    if (status != CLCNN_OK)
        return status;
    clcnn__conv2d_arg_mem(&args, dy);
    clcnn__conv2d_arg_mem(&args, w);
    clcnn__conv2d_arg_mem(&args, dx);
    clcnn__conv2d_arg_int(&args, (size_t)accumulate);
    const size_t global[3] = {g->h * ((g->w + per_item - 1) / per_item), g->c, g->n};
    const size_t local[3] = {4, 1, 1};
    return launch_general(ctx, &args, g, 3, global, local);
}

clcnn_status clcnn__conv2d_general_backward_weights(clcnn_context *ctx,
                                                    const clcnn__conv2d_geometry *g, cl_mem x,
                                                    cl_mem dy, cl_mem dw, int accumulate) {
    size_t per_item;
    clcnn__conv2d_args args;
    clcnn_status status = begin_general(ctx, "conv2d_bwd_weights_general", &per_item, &args);
    if (status != CLCNN_OK)
        return status;
    clcnn__conv2d_arg_mem(&args, x);
    clcnn__conv2d_arg_mem(&args, dy);
    clcnn__conv2d_arg_mem(&args, dw);
    clcnn__conv2d_arg_int(&args, (size_t)accumulate);
    const size_t global = g->k * g->cg * g->kh * g->kw, local = 4;
    return launch_general(ctx, &args, g, 1, &global, &local);
}

/* Work-items per group of conv2d_bias_grad_groups (BIAS_WG in conv2d.cl). */
#define BIAS_GROUP_SIZE 64

/* On CPUs one work-item per output channel, each its own work-group (spread
 * over the cores); elsewhere one work-group per channel with a tree sum. */
clcnn_status clcnn__conv2d_bias_grad(clcnn_context *ctx, const clcnn__conv2d_geometry *g, cl_mem dy,
                                     cl_mem db, int accumulate) {
    size_t per_item;
    const char *options = general_options(ctx, &per_item);
    int grouped =
        ctx->info.type != CLCNN_DEVICE_TYPE_CPU && ctx->info.max_work_group_size >= BIAS_GROUP_SIZE;
    cl_kernel kernel;
    clcnn_status status =
        clcnn__kernel_get(ctx, "conv2d.cl", options,
                          grouped ? "conv2d_bias_grad_groups" : "conv2d_bias_grad", &kernel);
    if (status != CLCNN_OK)
        return status;
    clcnn__conv2d_args args = clcnn__conv2d_args_begin(kernel);
    clcnn__conv2d_arg_mem(&args, dy);
    clcnn__conv2d_arg_mem(&args, db);
    clcnn__conv2d_arg_int(&args, (size_t)accumulate);
    clcnn__conv2d_arg_int(&args, g->n);
    clcnn__conv2d_arg_int(&args, g->k);
    clcnn__conv2d_arg_int(&args, g->ho * g->wo);
    if ((status = clcnn__conv2d_args_done(ctx, &args)) != CLCNN_OK)
        return status;
    const size_t local = grouped ? BIAS_GROUP_SIZE : 1;
    const size_t global = g->k * local;
    return clcnn__enqueue_kernel(ctx, kernel, 1, &global, &local);
}
