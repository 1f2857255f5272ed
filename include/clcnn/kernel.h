/* User kernels: OpenCL C kernels of your own, built through the library's
 * program cache and launched on the context's queue the way the library
 * launches its own.
 *
 * A clcnn_kernel is one kernel function of a program built for one context,
 * either from source text (clcnn_kernel_create) or from one of the
 * library's embedded programs (clcnn_kernel_create_builtin, e.g. "util.cl").
 * Source text may `#include "name"` the library's embedded headers (the
 * *.h files of its cl/ folder, such as "philox.h" for Philox4x32 random
 * numbers or "common.h"): each is pasted in once, with #line markers so
 * that build logs name the right file. Every program is built with
 * -cl-std=CL1.2 (where the device's OpenCL C allows it) followed by the
 * caller's options, and goes through the context's disk cache like the
 * library's own: keyed by device, driver, library version, the expanded
 * source and the options, so a later context on the same device loads the
 * binary instead of compiling it (clcnn_cache_stats counts builds and
 * disk_hits; a cached binary the driver refuses is dropped and the program
 * rebuilt from source).
 *
 * Arguments are set by index and kept: each clcnn_kernel_set_* records a
 * value, and every launch applies all of them, so an argument that does
 * not change between launches is set once. Every argument the kernel
 * declares must have been set before it is launched. Setters check at once
 * what they can (the index, the tensor's context, the local size); the
 * driver checks the rest (a value's size against the kernel's type) at the
 * launch, whose message then names the argument.
 *
 * clcnn_kernel_launch enqueues the kernel on the context's in-order queue,
 * after the work enqueued before it and before the work enqueued after it
 * (library ops included), and returns without waiting: read a tensor or
 * call clcnn_context_finish to wait. A running kernel profile
 * (clcnn/profile.h) counts and times its launches under the kernel's
 * function name, like the library's own.
 *
 * Ownership: a kernel belongs to the caller and is freed with
 * clcnn_kernel_destroy (NULL is a no-op), before its context is destroyed;
 * launches still pending are not affected. Tensors and buffers set as
 * arguments are not referenced: each must stay alive until the launches
 * that use it have completed, and be set again once destroyed and
 * replaced.
 *
 * Thread safety: a kernel is used like its context (clcnn/core.h): by one
 * thread at a time, the one using the context.
 *
 * Errors: every function returns CLCNN_ERROR_INVALID_ARGUMENT for a NULL
 * context or kernel (no message: there is nowhere to record it); every
 * other failure records a message in the context that starts with the
 * function's name. Buffers of the caller's own (cl_mem) and the launch's
 * OpenCL event are in clcnn/opencl.h. */
#ifndef CLCNN_KERNEL_H
#define CLCNN_KERNEL_H

#include <stddef.h>
#include <stdint.h>

#include "clcnn/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One kernel function with its kept arguments. */
typedef struct clcnn_kernel clcnn_kernel;

/* Builds `source` (OpenCL C, NUL-terminated) with the extra build `options`
 * (e.g. "-DWIDTH=4"; NULL: none) for the context's device, through the disk
 * cache, and makes the kernel function `name` of it, with no argument set.
 * Each call builds or loads its own program: create a kernel once and
 * launch it many times. Errors: NULL source, name or out, or a name that is
 * not a C identifier: CLCNN_ERROR_INVALID_ARGUMENT; the program does not
 * build: CLCNN_ERROR_BUILD_FAILED with the driver's build log in the
 * message; no kernel of that name in it: CLCNN_ERROR_NOT_FOUND;
 * CLCNN_ERROR_OUT_OF_HOST_MEMORY, CLCNN_ERROR_OPENCL. *out is NULL on
 * failure. */
CLCNN_API clcnn_status clcnn_kernel_create(clcnn_context *context, const char *source,
                                           const char *options, const char *name,
                                           clcnn_kernel **out);

/* The kernel function `name` of the library's embedded program `program`
 * (a file of its cl/ folder, e.g. "util.cl" with "empty_kernel" and
 * "copy_float4", "peak.cl" with "peak_fma_float4") built with `options`
 * (NULL: the library's defaults). The program comes from the context's
 * memory cache when the library already built it with the same options,
 * else from the disk cache, else the source; it stays the context's.
 * Errors: NULL program, name or out: CLCNN_ERROR_INVALID_ARGUMENT; no
 * embedded program or no kernel of that name: CLCNN_ERROR_NOT_FOUND;
 * options the program does not build with: CLCNN_ERROR_BUILD_FAILED, with
 * the build log; CLCNN_ERROR_OUT_OF_HOST_MEMORY, CLCNN_ERROR_OPENCL. *out is
 * NULL on failure. */
CLCNN_API clcnn_status clcnn_kernel_create_builtin(clcnn_context *context, const char *program,
                                                   const char *options, const char *name,
                                                   clcnn_kernel **out);

CLCNN_API void clcnn_kernel_destroy(clcnn_kernel *kernel);

/* Argument setters: argument `index` (0 for the kernel's first) becomes the
 * value, kept for every later launch until set again. The value's type
 * must be the kernel's: a __global pointer takes a tensor (its elements,
 * from the first) or a buffer (clcnn_kernel_set_mem); int, uint, ulong and
 * float take the setter of that name; a __local pointer takes a size in
 * bytes (clcnn_kernel_set_local). Errors: an index at or past the number of
 * arguments the kernel declares: CLCNN_ERROR_OUT_OF_RANGE; a NULL tensor or
 * a local size of 0: CLCNN_ERROR_INVALID_ARGUMENT; a tensor of another
 * context: CLCNN_ERROR_CONTEXT_MISMATCH; a local size beyond the device's
 * local memory: CLCNN_ERROR_UNSUPPORTED. A failed setter leaves the
 * argument as it was. */
CLCNN_API clcnn_status clcnn_kernel_set_tensor(clcnn_kernel *kernel, size_t index,
                                               const clcnn_tensor *tensor);
CLCNN_API clcnn_status clcnn_kernel_set_int(clcnn_kernel *kernel, size_t index, int32_t value);
CLCNN_API clcnn_status clcnn_kernel_set_uint(clcnn_kernel *kernel, size_t index, uint32_t value);
CLCNN_API clcnn_status clcnn_kernel_set_ulong(clcnn_kernel *kernel, size_t index, uint64_t value);
CLCNN_API clcnn_status clcnn_kernel_set_float(clcnn_kernel *kernel, size_t index, float value);
CLCNN_API clcnn_status clcnn_kernel_set_local(clcnn_kernel *kernel, size_t index, size_t bytes);

/* The largest work-group (work-items, all dimensions together) the
 * compiled kernel may run in on the context's device: the driver's limit
 * for this kernel (which may be below the device's maximum, e.g. for a
 * kernel with many registers), never above the device's. Errors: NULL out:
 * CLCNN_ERROR_INVALID_ARGUMENT; CLCNN_ERROR_OPENCL. */
CLCNN_API clcnn_status clcnn_kernel_work_group_limit(const clcnn_kernel *kernel, size_t *out);

/* Enqueues the kernel with its kept arguments over global[0 .. dims-1]
 * work-items (dims 1 to 3) in work-groups of local[0 .. dims-1] (NULL: the
 * driver chooses). A global size of 0 in any dimension enqueues nothing.
 * Does not wait (see above). Errors: dims outside 1..3, NULL global, a
 * local size of 0 or one that does not divide the global size:
 * CLCNN_ERROR_INVALID_ARGUMENT; an argument never set:
 * CLCNN_ERROR_INVALID_ARGUMENT naming it; a work-group larger than
 * clcnn_kernel_work_group_limit: CLCNN_ERROR_UNSUPPORTED (nothing is
 * enqueued: choose a smaller one); an argument the driver refuses:
 * CLCNN_ERROR_OPENCL naming it; CLCNN_ERROR_OUT_OF_DEVICE_MEMORY and other
 * OpenCL failures of the enqueue. */
CLCNN_API clcnn_status clcnn_kernel_launch(clcnn_kernel *kernel, size_t dims, const size_t *global,
                                           const size_t *local);

/* ---------------------------------------------------------- device traits */

/* What a kernel writer must know about the context's device beyond
 * clcnn_device_info: what the library itself takes into account when it
 * builds and launches its kernels there. */
typedef struct clcnn_device_traits {
    /* Whose kernel choices the context takes (algorithms, tiles, launch
     * shapes): CLCNN_DEVICE_TYPE_CPU, _GPU or _OTHER. The device's own type
     * unless clcnn_context_options.device_class or CLCNN_DEVICE_CLASS says
     * otherwise, so that a program can follow the library's choice. */
    clcnn_device_type kernel_class;
    /* The most loop trips one work-item may take, all its loops together,
     * before the driver silently ends them (Mesa's llvmpipe: 65535);
     * SIZE_MAX when there is no known limit. A kernel that may loop longer
     * must split its work over more work-items or launches; the library
     * keeps to half of it. */
    size_t loop_trip_limit;
    /* The widest float vector, in lanes, worth building for the device:
     * 16 on most; 8 on llvmpipe, whose compiler took minutes over a float16
     * kernel that others build in a second. */
    size_t widest_vector;
} clcnn_device_traits;

/* The traits of the context's device. Errors: NULL out:
 * CLCNN_ERROR_INVALID_ARGUMENT. */
CLCNN_API clcnn_status clcnn_context_device_traits(const clcnn_context *context,
                                                   clcnn_device_traits *out);

#ifdef __cplusplus
}
#endif

#endif
