/* User kernels (clcnn/kernel.h): a kernel of the caller's source, or of an
 * embedded program, built through the program cache, with arguments kept
 * by index and applied at each launch through the one launch path
 * (runtime/launch.c), which also counts the launch in a running profile.
 * The device traits that kernel writers need are read here too. */
#include <stdlib.h>
#include <string.h>

#include "runtime/internal.h"

/* A kept argument: nothing yet, a value of `size` bytes, or `size` bytes of
 * local memory. */
typedef enum kept_kind { KEPT_UNSET, KEPT_VALUE, KEPT_LOCAL } kept_kind;

typedef struct kept_arg {
    kept_kind kind;
    size_t size;
    union {
        cl_mem mem;
        cl_int i;
        cl_uint u;
        cl_ulong ul;
        cl_float f;
    } value;
} kept_arg;

struct clcnn_kernel {
    clcnn_context *ctx;
    cl_kernel kernel; /* one reference of ours */
    char *name;
    size_t arg_count;
    kept_arg *args; /* arg_count of them */
};

/* ---------------------------------------------------------------- creation */

/* Whether text is a C identifier, the only kernel names OpenCL C has (and
 * safe inside the #line markers that name the source). */
static int is_identifier(const char *text) {
    if (!(text[0] == '_' || (text[0] >= 'a' && text[0] <= 'z') ||
          (text[0] >= 'A' && text[0] <= 'Z')))
        return 0;
    for (const char *p = text + 1; *p != '\0'; p++)
        if (!(*p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9')))
            return 0;
    return 1;
}

/* Wraps a kernel holding one reference (taken over, released on failure)
 * with room for each of its arguments. */
static clcnn_status wrap(clcnn_context *ctx, cl_kernel kernel, const char *name,
                         clcnn_kernel **out) {
    cl_uint count = 0;
    cl_int err = clGetKernelInfo(kernel, CL_KERNEL_NUM_ARGS, sizeof count, &count, NULL);
    if (err != CL_SUCCESS) {
        clReleaseKernel(kernel);
        return clcnn__fail_cl(ctx, err, "clGetKernelInfo(CL_KERNEL_NUM_ARGS)");
    }
    clcnn_kernel *k = calloc(1, sizeof *k);
    char *copy = clcnn__strdup(name);
    kept_arg *args = calloc(count > 0 ? count : 1, sizeof *args);
    if (k == NULL || copy == NULL || args == NULL) {
        free(k);
        free(copy);
        free(args);
        clReleaseKernel(kernel);
        return clcnn__fail(ctx, CLCNN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    }
    *k = (clcnn_kernel){ctx, kernel, copy, count, args};
    *out = k;
    return CLCNN_OK;
}

static clcnn_status check_create(clcnn_context *ctx, const char *what, const char *text,
                                 const char *name, clcnn_kernel **out) {
    if (out == NULL)
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT, "out is NULL");
    *out = NULL;
    if (text == NULL || name == NULL)
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT, "%s is NULL",
                           text == NULL ? what : "name");
    if (!is_identifier(name))
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                           "kernel name \"%s\" is not a C identifier", name);
    return CLCNN_OK;
}

static clcnn_status kernel_create(clcnn_context *ctx, const char *source, const char *options,
                                  const char *name, clcnn_kernel **out) {
    clcnn_status status = check_create(ctx, "source", source, name, out);
    if (status != CLCNN_OK)
        return status;
    /* The label names the source in build logs and #line markers. */
    char label[300];
    snprintf(label, sizeof label, "user:%s", name);
    cl_kernel kernel = NULL;
    status = clcnn__kernel_build_source(ctx, label, source, options, name, &kernel);
    return status == CLCNN_OK ? wrap(ctx, kernel, name, out) : status;
}

clcnn_status clcnn_kernel_create(clcnn_context *context, const char *source, const char *options,
                                 const char *name, clcnn_kernel **out) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(context);
    return clcnn__named(context, mark, __func__,
                        kernel_create(context, source, options, name, out));
}

static clcnn_status kernel_create_builtin(clcnn_context *ctx, const char *program,
                                          const char *options, const char *name,
                                          clcnn_kernel **out) {
    clcnn_status status = check_create(ctx, "program", program, name, out);
    cl_kernel kernel = NULL;
    if (status == CLCNN_OK)
        status = clcnn__kernel_get(ctx, program, options, name, &kernel);
    if (status != CLCNN_OK)
        return status;
    /* The context keeps its own reference for its ops. */
    cl_int err = clRetainKernel(kernel);
    if (err != CL_SUCCESS)
        return clcnn__fail_cl(ctx, err, "clRetainKernel");
    return wrap(ctx, kernel, name, out);
}

clcnn_status clcnn_kernel_create_builtin(clcnn_context *context, const char *program,
                                         const char *options, const char *name,
                                         clcnn_kernel **out) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(context);
    return clcnn__named(context, mark, __func__,
                        kernel_create_builtin(context, program, options, name, out));
}

void clcnn_kernel_destroy(clcnn_kernel *kernel) {
    if (kernel == NULL)
        return;
    clReleaseKernel(kernel->kernel);
    free(kernel->name);
    free(kernel->args);
    free(kernel);
}

/* ----------------------------------------------------------------- setters */

/* The argument `index` of the kernel, or NULL with the failure recorded. */
static kept_arg *argument(clcnn_kernel *k, const char *function, size_t index) {
    if (index < k->arg_count)
        return &k->args[index];
    clcnn__fail(k->ctx, CLCNN_ERROR_OUT_OF_RANGE,
                "%s: argument %zu of kernel '%s', which takes %zu argument%s", function, index,
                k->name, k->arg_count, k->arg_count == 1 ? "" : "s");
    return NULL;
}

/* Records the argument (value NULL: local memory); a NULL kernel is
 * INVALID_ARGUMENT, with nowhere to say so. */
static clcnn_status keep(clcnn_kernel *k, const char *function, size_t index, kept_kind kind,
                         size_t size, const void *value) {
    if (k == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    kept_arg *arg = argument(k, function, index);
    if (arg == NULL)
        return CLCNN_ERROR_OUT_OF_RANGE;
    arg->kind = kind;
    arg->size = size;
    if (value != NULL)
        memcpy(&arg->value, value, size);
    return CLCNN_OK;
}

clcnn_status clcnn_kernel_set_tensor(clcnn_kernel *kernel, size_t index,
                                     const clcnn_tensor *tensor) {
    if (kernel == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn_status status =
        clcnn__check_tensor(kernel->ctx, tensor, "clcnn_kernel_set_tensor: tensor");
    if (status != CLCNN_OK)
        return status;
    cl_mem mem = tensor->storage->mem;
    return keep(kernel, __func__, index, KEPT_VALUE, sizeof mem, &mem);
}

clcnn_status clcnn_kernel_set_mem(clcnn_kernel *kernel, size_t index, cl_mem mem) {
    return keep(kernel, __func__, index, KEPT_VALUE, sizeof mem, &mem);
}

clcnn_status clcnn_kernel_set_int(clcnn_kernel *kernel, size_t index, int32_t value) {
    cl_int v = value;
    return keep(kernel, __func__, index, KEPT_VALUE, sizeof v, &v);
}

clcnn_status clcnn_kernel_set_uint(clcnn_kernel *kernel, size_t index, uint32_t value) {
    cl_uint v = value;
    return keep(kernel, __func__, index, KEPT_VALUE, sizeof v, &v);
}

clcnn_status clcnn_kernel_set_ulong(clcnn_kernel *kernel, size_t index, uint64_t value) {
    cl_ulong v = value;
    return keep(kernel, __func__, index, KEPT_VALUE, sizeof v, &v);
}

clcnn_status clcnn_kernel_set_float(clcnn_kernel *kernel, size_t index, float value) {
    cl_float v = value;
    return keep(kernel, __func__, index, KEPT_VALUE, sizeof v, &v);
}

clcnn_status clcnn_kernel_set_local(clcnn_kernel *kernel, size_t index, size_t bytes) {
    if (kernel == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    if (bytes == 0)
        return clcnn__fail(kernel->ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                           "%s: argument %zu of kernel '%s': 0 bytes of local memory", __func__,
                           index, kernel->name);
    if (bytes > kernel->ctx->info.local_mem_bytes)
        return clcnn__fail(kernel->ctx, CLCNN_ERROR_UNSUPPORTED,
                           "%s: argument %zu of kernel '%s': %zu bytes of local memory, where the "
                           "device has %llu",
                           __func__, index, kernel->name, bytes,
                           (unsigned long long)kernel->ctx->info.local_mem_bytes);
    return keep(kernel, __func__, index, KEPT_LOCAL, bytes, NULL);
}

/* ---------------------------------------------------------------- launches */

clcnn_status clcnn_kernel_work_group_limit(const clcnn_kernel *kernel, size_t *out) {
    if (kernel == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    if (out == NULL)
        return clcnn__fail(kernel->ctx, CLCNN_ERROR_INVALID_ARGUMENT, "%s: out is NULL", __func__);
    clcnn__error_mark mark = clcnn__error_mark_take(kernel->ctx);
    return clcnn__named(kernel->ctx, mark, __func__,
                        clcnn__kernel_work_group_limit(kernel->ctx, kernel->kernel, out));
}

static clcnn_status check_work_sizes(const clcnn_kernel *k, size_t dims, const size_t *global) {
    if (dims < 1 || dims > 3)
        return clcnn__fail(k->ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                           "kernel '%s': %zu dimensions (OpenCL has 1 to 3)", k->name, dims);
    if (global == NULL)
        return clcnn__fail(k->ctx, CLCNN_ERROR_INVALID_ARGUMENT, "kernel '%s': global is NULL",
                           k->name);
    return CLCNN_OK;
}

/* Applies the kept arguments in order and enqueues. */
static clcnn_status kernel_launch(clcnn_kernel *k, size_t dims, const size_t *global,
                                  const size_t *local, cl_event *event) {
    clcnn_status status = check_work_sizes(k, dims, global);
    if (status != CLCNN_OK)
        return status;
    clcnn__launch launch = clcnn__launch_begin(k->ctx, k->kernel);
    for (size_t i = 0; i < k->arg_count; i++) {
        const kept_arg *arg = &k->args[i];
        if (arg->kind == KEPT_UNSET)
            return clcnn__fail(k->ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                               "kernel '%s': argument %zu was never set", k->name, i);
        clcnn__arg_bytes(&launch, arg->size, arg->kind == KEPT_LOCAL ? NULL : &arg->value);
    }
    return clcnn__launch_run_event(&launch, (cl_uint)dims, global, local, event);
}

clcnn_status clcnn_kernel_launch(clcnn_kernel *kernel, size_t dims, const size_t *global,
                                 const size_t *local) {
    if (kernel == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(kernel->ctx);
    return clcnn__named(kernel->ctx, mark, __func__,
                        kernel_launch(kernel, dims, global, local, NULL));
}

clcnn_status clcnn_kernel_launch_cl_event(clcnn_kernel *kernel, size_t dims, const size_t *global,
                                          const size_t *local, cl_event *event) {
    if (kernel == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    if (event == NULL)
        return clcnn__fail(kernel->ctx, CLCNN_ERROR_INVALID_ARGUMENT, "%s: event is NULL",
                           __func__);
    *event = NULL;
    clcnn__error_mark mark = clcnn__error_mark_take(kernel->ctx);
    return clcnn__named(kernel->ctx, mark, __func__,
                        kernel_launch(kernel, dims, global, local, event));
}

/* ------------------------------------------------------------ device traits */

clcnn_status clcnn_context_device_traits(const clcnn_context *context, clcnn_device_traits *out) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    if (out == NULL)
        return clcnn__fail(context, CLCNN_ERROR_INVALID_ARGUMENT, "%s: out is NULL", __func__);
    out->kernel_class = context->traits.kernel_class;
    out->loop_trip_limit = context->traits.loop_trip_limit;
    out->widest_vector = context->traits.widest_vector;
    return CLCNN_OK;
}
