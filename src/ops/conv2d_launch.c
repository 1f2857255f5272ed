/* conv2d: what every algorithm uses to run its kernels -- the index limit,
 * the build options of cl/conv2d.cl and launches with the work-group sizes
 * that suit POCL. */
#include "ops/conv2d_internal.h"

int clcnn__conv2d_fits(size_t count) {
    return count > 0 && count <= CLCNN__CONV2D_MAX_ELEMENTS;
}

const char *clcnn__conv2d_helper_options(const clcnn_context *ctx) {
    /* The table holds 8 (conv2d.cl's default) or 1. */
    return ctx->choices.conv2d.general_outputs == 8 ? NULL : "-DGW=1";
}

/* --------------------------------------------------------------- launching */

clcnn_status clcnn__conv2d_prepare(clcnn_context *ctx, const char *name, clcnn__launch *launch) {
    return clcnn__launch_prepare(ctx, "conv2d.cl", clcnn__conv2d_helper_options(ctx), name, launch);
}

clcnn_status clcnn__conv2d_launch(clcnn__launch *launch, cl_uint dims, const size_t *global,
                                  const size_t *cpu_local) {
    if (!launch->ctx->choices.conv2d.fixed_local || cpu_local == NULL)
        return clcnn__launch_run(launch, dims, global, NULL);
    size_t rounded[3];
    for (cl_uint i = 0; i < dims; i++)
        rounded[i] = clcnn__round_up(global[i], cpu_local[i]);
    return clcnn__launch_run_fitted(launch, dims, rounded, cpu_local);
}

/* ----------------------------------------------------------- partial sums */

clcnn_status clcnn__conv2d_reduce_partials(clcnn_context *ctx, cl_mem partial, cl_mem out,
                                           size_t count, size_t chunks, int accumulate) {
    clcnn__launch launch;
    clcnn_status status = clcnn__conv2d_prepare(ctx, "conv2d_reduce_partials", &launch);
    if (status != CLCNN_OK)
        return status;
    clcnn__arg_mem(&launch, partial);
    clcnn__arg_mem(&launch, out);
    clcnn__arg_int(&launch, count);
    clcnn__arg_int(&launch, chunks);
    clcnn__arg_int(&launch, (size_t)accumulate);
    return clcnn__conv2d_launch(&launch, 1, &count, (const size_t[1]){64});
}

clcnn_status clcnn__conv2d_partial_target(clcnn_context *ctx, cl_mem out, size_t count,
                                          size_t chunks, cl_mem *partial, cl_mem *target) {
    *partial = NULL;
    *target = out;
    if (chunks == 1)
        return CLCNN_OK;
    if (!clcnn__conv2d_fits(chunks * count))
        return clcnn__fail(ctx, CLCNN_ERROR_UNSUPPORTED,
                           "conv2d: %zu partial sums of %zu values exceed 2^31 - 1 elements",
                           chunks, count);
    clcnn_status status = clcnn__buffer_acquire(ctx, chunks * count * sizeof(float), partial);
    if (status == CLCNN_OK)
        *target = *partial;
    return status;
}
