/* Element-wise arithmetic (cl/elementwise.cl): add, scale, axpby. One
 * program per device configuration; the vector width and the vectors per
 * work-item come from a per-device table. */
#include <stdio.h>

#include "clcnn/elementwise.h"
#include "runtime/internal.h"

/* POCL: long float16 runs per work-item (it pays per work-group and runs a
 * work-item's loop as it is written); GPUs: one float4 per work-item so
 * that neighbouring work-items read neighbouring memory. */
typedef struct elementwise_tuning {
    clcnn_device_type type;
    int vec;      /* floats per vector: 2, 4, 8 or 16 */
    int items;    /* vectors per work-item */
    size_t local; /* work-group size (clamped to the device limit) */
} elementwise_tuning;

static const elementwise_tuning tunings[] = {
    {CLCNN_DEVICE_TYPE_CPU, 16, 8, 64},
    {CLCNN_DEVICE_TYPE_GPU, 4, 1, 256},
};
static const elementwise_tuning default_tuning = {CLCNN_DEVICE_TYPE_OTHER, 4, 1, 64};

static const elementwise_tuning *tuning_for(const clcnn_context *ctx) {
    for (size_t i = 0; i < sizeof tunings / sizeof tunings[0]; i++)
        if (tunings[i].type == ctx->info.type)
            return &tunings[i];
    return &default_tuning;
}

/* Checks every operand (non-NULL, this context, same element count as the
 * first). names[i] labels operands[i] in messages. */
static clcnn_status check_operands(clcnn_context *ctx, const char *what,
                                   const clcnn_tensor *const *operands, const char *const *names,
                                   size_t count) {
    if (ctx == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    char label[64];
    for (size_t i = 0; i < count; i++) {
        snprintf(label, sizeof label, "%s: %s", what, names[i]);
        clcnn_status status = clcnn__check_tensor(ctx, operands[i], label);
        if (status != CLCNN_OK)
            return status;
    }
    for (size_t i = 1; i < count; i++) {
        if (operands[i]->numel != operands[0]->numel) {
            char first[96], other[96];
            return clcnn__fail(ctx, CLCNN_ERROR_INVALID_SHAPE,
                               "%s: %s %s and %s %s hold different numbers of elements", what,
                               names[0], clcnn__shape_string(operands[0], first, sizeof first),
                               names[i], clcnn__shape_string(operands[i], other, sizeof other));
        }
    }
    return CLCNN_OK;
}

/* One argument of a kernel: a buffer or a float. */
typedef struct kernel_arg {
    const clcnn_tensor *tensor; /* NULL: the float */
    float value;
} kernel_arg;

/* Runs `name` over numel elements with arguments (n, args...). */
static clcnn_status run(clcnn_context *ctx, const char *name, size_t numel, const kernel_arg *args,
                        cl_uint arg_count) {
    const elementwise_tuning *t = tuning_for(ctx);
    char options[64];
    snprintf(options, sizeof options, "-DVEC=%d -DITEMS=%d", t->vec, t->items);
    cl_kernel kernel = NULL;
    clcnn_status status = clcnn__kernel_get(ctx, "elementwise.cl", options, name, &kernel);
    if (status != CLCNN_OK)
        return status;
    cl_ulong n = numel;
    cl_int err = clSetKernelArg(kernel, 0, sizeof n, &n);
    for (cl_uint i = 0; i < arg_count && err == CL_SUCCESS; i++) {
        if (args[i].tensor != NULL)
            err = clSetKernelArg(kernel, i + 1, sizeof(cl_mem), &args[i].tensor->storage->mem);
        else
            err = clSetKernelArg(kernel, i + 1, sizeof(float), &args[i].value);
    }
    if (err != CL_SUCCESS)
        return clcnn__fail_cl(ctx, err, "elementwise: clSetKernelArg");
    const size_t chunk = (size_t)t->vec * (size_t)t->items;
    size_t local =
        t->local < ctx->info.max_work_group_size ? t->local : ctx->info.max_work_group_size;
    size_t global = clcnn__round_up((numel + chunk - 1) / chunk, local);
    return clcnn__enqueue_kernel(ctx, kernel, 1, &global, &local);
}

clcnn_status clcnn_add(clcnn_context *context, const clcnn_tensor *a, const clcnn_tensor *b,
                       clcnn_tensor *out) {
    const clcnn_tensor *operands[3] = {a, b, out};
    const char *names[3] = {"a", "b", "out"};
    clcnn_status status = check_operands(context, "add", operands, names, 3);
    if (status != CLCNN_OK)
        return status;
    const kernel_arg args[3] = {{a, 0.0f}, {b, 0.0f}, {out, 0.0f}};
    return run(context, "elementwise_add", a->numel, args, 3);
}

clcnn_status clcnn_scale(clcnn_context *context, const clcnn_tensor *x, float alpha,
                         clcnn_tensor *out) {
    const clcnn_tensor *operands[2] = {x, out};
    const char *names[2] = {"x", "out"};
    clcnn_status status = check_operands(context, "scale", operands, names, 2);
    if (status != CLCNN_OK)
        return status;
    const kernel_arg args[3] = {{NULL, alpha}, {x, 0.0f}, {out, 0.0f}};
    return run(context, "elementwise_scale", x->numel, args, 3);
}

clcnn_status clcnn_axpby(clcnn_context *context, float alpha, const clcnn_tensor *x, float beta,
                         clcnn_tensor *y) {
    const clcnn_tensor *operands[2] = {x, y};
    const char *names[2] = {"x", "y"};
    clcnn_status status = check_operands(context, "axpby", operands, names, 2);
    if (status != CLCNN_OK)
        return status;
    if (beta == 0.0f) {
        /* BLAS's rule: y is not read. */
        const kernel_arg args[3] = {{NULL, alpha}, {x, 0.0f}, {y, 0.0f}};
        return run(context, "elementwise_scale", x->numel, args, 3);
    }
    const kernel_arg args[4] = {{NULL, alpha}, {x, 0.0f}, {NULL, beta}, {y, 0.0f}};
    return run(context, "elementwise_axpby", x->numel, args, 4);
}
