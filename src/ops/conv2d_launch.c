/* conv2d: what every algorithm uses to run its kernels -- the index limit,
 * the build options of cl/conv2d.cl, kernel arguments and launches with the
 * work-group sizes that suit POCL. */
#include <stdio.h>

#include "ops/conv2d_internal.h"

int clcnn__conv2d_fits(size_t count) {
    return count > 0 && count <= CLCNN__CONV2D_MAX_ELEMENTS;
}

const char *clcnn__conv2d_helper_options(const clcnn_context *ctx) {
    /* The table holds 8 (conv2d.cl's default) or 1. */
    return ctx->choices.conv2d.general_outputs == 8 ? NULL : "-DGW=1";
}

/* --------------------------------------------------------------- launching */

clcnn_status clcnn__conv2d_launch(clcnn_context *ctx, cl_kernel kernel, cl_uint dims,
                                  const size_t *global, const size_t *cpu_local) {
    if (!ctx->choices.conv2d.fixed_local || cpu_local == NULL)
        return clcnn__enqueue_kernel(ctx, kernel, dims, global, NULL);
    size_t rounded[3], local[3];
    for (cl_uint i = 0; i < dims; i++) {
        local[i] = cpu_local[i];
        rounded[i] = clcnn__round_up(global[i], local[i]);
    }
    return clcnn__enqueue_kernel(ctx, kernel, dims, rounded, local);
}

/* ----------------------------------------------------------- partial sums */

clcnn_status clcnn__conv2d_reduce_partials(clcnn_context *ctx, cl_mem partial, cl_mem out,
                                           size_t count, size_t chunks, int accumulate) {
    cl_kernel reduce;
    clcnn_status status = clcnn__kernel_get(ctx, "conv2d.cl", clcnn__conv2d_helper_options(ctx),
                                            "conv2d_reduce_partials", &reduce);
    if (status != CLCNN_OK)
        return status;
    clcnn__conv2d_args args = clcnn__conv2d_args_begin(reduce);
    clcnn__conv2d_arg_mem(&args, partial);
    clcnn__conv2d_arg_mem(&args, out);
    clcnn__conv2d_arg_int(&args, count);
    clcnn__conv2d_arg_int(&args, chunks);
    clcnn__conv2d_arg_int(&args, (size_t)accumulate);
    status = clcnn__conv2d_args_done(ctx, &args);
    if (status == CLCNN_OK)
        status = clcnn__conv2d_launch(ctx, reduce, 1, &count, (const size_t[1]){64});
    return status;
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

/* ------------------------------------------------------- kernel arguments */

clcnn__conv2d_args clcnn__conv2d_args_begin(cl_kernel kernel) {
    clcnn__conv2d_args args = {kernel, 0, CL_SUCCESS};
    return args;
}

void clcnn__conv2d_arg_mem(clcnn__conv2d_args *args, cl_mem mem) {
    if (args->error == CL_SUCCESS)
        args->error = clSetKernelArg(args->kernel, args->index, sizeof mem, &mem);
    args->index++;
}

void clcnn__conv2d_arg_int(clcnn__conv2d_args *args, size_t value) {
    cl_int v = (cl_int)value;
    if (args->error == CL_SUCCESS)
        args->error = clSetKernelArg(args->kernel, args->index, sizeof v, &v);
    args->index++;
}

clcnn_status clcnn__conv2d_args_done(clcnn_context *ctx, const clcnn__conv2d_args *args) {
    if (args->error == CL_SUCCESS)
        return CLCNN_OK;
    char name[128] = "?";
    if (clGetKernelInfo(args->kernel, CL_KERNEL_FUNCTION_NAME, sizeof name, name, NULL) !=
        CL_SUCCESS)
        snprintf(name, sizeof name, "?");
    name[sizeof name - 1] = '\0';
    return clcnn__fail(ctx, clcnn__status_from_cl(args->error),
                       "setting the arguments of kernel '%s': %s (%d)", name,
                       clcnn__cl_error_name(args->error), (int)args->error);
}
