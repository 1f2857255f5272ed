/* libclcnn core: status, devices, contexts, tensors and events (clcnn.h
 * includes this and every op header).
 *
 * Error model: every function that can fail returns a clcnn_status (0 is
 * success, negative is an error) and hands results back through its last
 * argument. A context keeps the message of its last failure, with details
 * (OpenCL error name and code, mismatched shapes, a kernel build log);
 * read it with clcnn_context_last_error(). Every call that fails on a valid
 * handle records its own message, starting with the function's name
 * ("clcnn_tensor_read: elements 4..4 are outside a tensor of 4 elements"),
 * also through a const handle: the last error is the one thing such a call
 * may change. The library never prints, never exits and keeps no global
 * mutable state.
 *
 * Thread safety: distinct contexts may be used from distinct threads at the
 * same time. One context, and every tensor and event made from it, must be
 * used by one thread at a time (callers serialise access themselves).
 * clcnn_status_name/string and the device enumeration functions are safe
 * from any thread. */
#ifndef CLCNN_CORE_H
#define CLCNN_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "clcnn/export.h"
#include "clcnn/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CLCNN_VERSION_MAJOR 0
#define CLCNN_VERSION_MINOR 1
#define CLCNN_VERSION_PATCH 0
#define CLCNN_VERSION_STRING "0.1.0"

/* The version of the library linked at run time, e.g. "0.1.0". */
CLCNN_API const char *clcnn_version(void);

/* ------------------------------------------------------------------ devices */

typedef enum clcnn_device_type {
    CLCNN_DEVICE_TYPE_OTHER = 0,
    CLCNN_DEVICE_TYPE_GPU = 1,
    CLCNN_DEVICE_TYPE_CPU = 2,
    CLCNN_DEVICE_TYPE_ACCELERATOR = 3
} clcnn_device_type;

#define CLCNN_NAME_MAX 256

/* Facts about one OpenCL device, all read from the device itself (never
 * inferred from the platform). */
typedef struct clcnn_device_info {
    size_t platform_index; /* P in "P:D" */
    size_t device_index;   /* D in "P:D", within its platform */
    char platform_name[CLCNN_NAME_MAX];
    char platform_version[CLCNN_NAME_MAX];
    char device_name[CLCNN_NAME_MAX];
    char vendor[CLCNN_NAME_MAX];
    char driver_version[CLCNN_NAME_MAX];
    char device_version[CLCNN_NAME_MAX];   /* CL_DEVICE_VERSION */
    char opencl_c_version[CLCNN_NAME_MAX]; /* CL_DEVICE_OPENCL_C_VERSION */
    clcnn_device_type type;
    uint32_t vendor_id;
    uint32_t compute_units;
    uint32_t clock_mhz;
    uint64_t global_mem_bytes;
    uint64_t max_alloc_bytes;
    uint64_t local_mem_bytes;
    size_t max_work_group_size;
    int opencl_c_major; /* parsed from opencl_c_version, e.g. 1 and 2 */
    int opencl_c_minor;
    int has_fp64; /* cl_khr_fp64 (or a double-precision config) */
    int has_fp16; /* cl_khr_fp16 */
    /* Whether libclcnn can run on the device: 1 when CL_DEVICE_VERSION,
     * CL_DEVICE_OPENCL_C_VERSION and CL_PLATFORM_VERSION all say OpenCL 1.2
     * or later (an OpenCL 3.0 device with OpenCL C 1.2 is fine), else 0.
     * Such a device is listed, but a choice takes it only when no usable
     * device fits, and a context on it is refused
     * (CLCNN_ERROR_DEVICE_UNSUPPORTED). */
    int supported;
    /* Why not, as the end of a sentence that starts with the device, e.g.
     * "supports OpenCL 1.1 (OpenCL C 1.1); libclcnn needs 1.2"; "" when
     * supported. */
    char unsupported_reason[CLCNN_NAME_MAX];
} clcnn_device_info;

/* The name of a device type: "gpu", "cpu", "accelerator" or "other". */
CLCNN_API const char *clcnn_device_type_name(clcnn_device_type type);

/* A snapshot of every OpenCL device on every platform. Owned by the caller;
 * free with clcnn_device_list_destroy (NULL is a no-op). */
typedef struct clcnn_device_list clcnn_device_list;

/* Enumerates every platform and device, in the order OpenCL gives them.
 * Devices libclcnn cannot use (older than OpenCL 1.2) are listed too, with
 * supported = 0 and the reason. A platform that shows no device is skipped
 * quietly (Mesa's Clover and rusticl show none until enabled: LP_CL=1,
 * RUSTICL_ENABLE=llvmpipe); its index P is still counted. Returns
 * CLCNN_ERROR_NO_PLATFORM when no platform has a device (the list is then
 * not made). */
CLCNN_API clcnn_status clcnn_device_list_create(clcnn_device_list **out);
CLCNN_API void clcnn_device_list_destroy(clcnn_device_list *list);
CLCNN_API size_t clcnn_device_list_count(const clcnn_device_list *list);
/* Copies the facts of device `index` (0 .. count-1) into *out. */
CLCNN_API clcnn_status clcnn_device_list_get(const clcnn_device_list *list, size_t index,
                                             clcnn_device_info *out);

/* Resolves a device choice against the list, giving the index in the list.
 * `selector` is one of:
 *   "P:D"  platform and device indices (decimal), e.g. "0:0";
 *   "gpu", "cpu", "accelerator"  (any case) the first device of that type;
 *   any other text  the first device, in list order, of which one of these
 *     contains the text, ignoring case: device_name, platform_name,
 *     platform_version, vendor, driver_version (so "pocl" finds POCL by its
 *     platform version, "nvidia" by the device or vendor name).
 * NULL or "" means the default: the first GPU, else the first CPU, else the
 * first device. Type, text and default choices take the first device that
 * libclcnn can use (clcnn_device_info.supported), and fall back to one it
 * cannot use only when no usable device fits. An unknown choice gives
 * CLCNN_ERROR_DEVICE_NOT_FOUND and, when message is not NULL, a message
 * listing the devices that exist. A choice that lands on a device libclcnn
 * cannot use gives CLCNN_ERROR_DEVICE_UNSUPPORTED, its index in *out and a
 * message such as "device 2:0 (llvmpipe, Clover) supports OpenCL 1.1 (OpenCL
 * C 1.1); libclcnn needs 1.2; devices it can use: 0:0 ...". Messages are
 * truncated to message_size bytes, always NUL-terminated. */
CLCNN_API clcnn_status clcnn_device_list_select(const clcnn_device_list *list, const char *selector,
                                                char *message, size_t message_size, size_t *out);

/* ------------------------------------------------------------------ context */

/* A context owns an OpenCL context on one device, an in-order command queue,
 * the programs compiled for that device, a buffer pool and the last error
 * message. Created by clcnn_context_create, freed by clcnn_context_destroy
 * (NULL is a no-op) after every tensor and event made from it is destroyed. */
typedef struct clcnn_context clcnn_context;

typedef struct clcnn_context_options {
    /* Device choice, as for clcnn_device_list_select. NULL: use the
     * CLCNN_DEVICE environment variable, and when that is unset the default. */
    const char *device;
    /* Non-zero: the queue records profiling information. */
    int enable_profiling;
    /* Program disk cache: CLCNN_CACHE_DEFAULT follows the environment
     * (CLCNN_CACHE=0 disables), CLCNN_CACHE_OFF and CLCNN_CACHE_ON force. */
    int disk_cache;
    /* Cache directory; NULL: $CLCNN_CACHE_DIR, else $XDG_CACHE_HOME/clcnn,
     * else $HOME/.cache/clcnn. */
    const char *cache_dir;
    /* Optional caller-owned buffer that receives the reason when
     * clcnn_context_create fails (there is no context then to ask). */
    char *error_buffer;
    size_t error_buffer_size;
    /* Whose kernel choices (algorithms, tiles, launch shapes) the context
     * takes: "cpu", "gpu" or "other"; NULL: $CLCNN_DEVICE_CLASS, and when
     * that is unset the device's own type. Running the GPU choices on a CPU
     * device shows the GPU code paths at full size; results agree either
     * way. */
    const char *device_class;
    /* Clamps for tests, e.g. "work_group=32,local_mem=16384,max_alloc=
     * 134217728": the context treats the device as if it allowed at most
     * that many work-items per group, bytes of local memory and bytes per
     * allocation (a clamp never raises a limit). NULL: $CLCNN_DEVICE_LIMITS,
     * and when that is unset none. */
    const char *device_limits;
} clcnn_context_options;

#define CLCNN_CACHE_DEFAULT (-1)
#define CLCNN_CACHE_OFF 0
#define CLCNN_CACHE_ON 1

/* Options with every field at its default. */
CLCNN_API clcnn_context_options clcnn_context_options_default(void);

/* options may be NULL (all defaults). On failure *out is NULL and the reason
 * is in options->error_buffer when one was given. */
CLCNN_API clcnn_status clcnn_context_create(const clcnn_context_options *options,
                                            clcnn_context **out);
CLCNN_API void clcnn_context_destroy(clcnn_context *context);

/* The message of the last failed call on this context ("" when none). The
 * pointer stays valid until the next call on the context. */
CLCNN_API const char *clcnn_context_last_error(const clcnn_context *context);

/* The facts of the context's device. */
CLCNN_API clcnn_status clcnn_context_device_info(const clcnn_context *context,
                                                 clcnn_device_info *out);

/* Blocks until every command enqueued on the context has completed; reports
 * an error that an earlier asynchronous command raised. */
CLCNN_API clcnn_status clcnn_context_finish(clcnn_context *context);

/* Builds (or loads from the cache) every program of the library with its
 * default options, so that later calls do not pay for compilation. */
CLCNN_API clcnn_status clcnn_context_prepare_programs(clcnn_context *context);

typedef struct clcnn_memory_stats {
    uint64_t bytes_in_use;       /* device bytes held by live tensors and workspaces */
    uint64_t bytes_pooled;       /* device bytes held in the pool, free for reuse */
    uint64_t peak_bytes;         /* most device bytes held at once (in use + pooled) */
    uint64_t buffer_allocations; /* clCreateBuffer calls so far */
} clcnn_memory_stats;

/* Device memory the context holds. A repeated operation that draws its
 * buffers from the pool leaves buffer_allocations unchanged after its first
 * run. */
CLCNN_API clcnn_status clcnn_context_memory_stats(const clcnn_context *context,
                                                  clcnn_memory_stats *out);

/* Releases every pooled (free) device buffer back to the driver. */
CLCNN_API void clcnn_context_trim_pool(clcnn_context *context);

typedef struct clcnn_cache_stats {
    uint64_t memory_hits; /* program found already built in this context */
    uint64_t disk_hits;   /* program loaded from a cached binary */
    uint64_t builds;      /* program compiled from source */
    /* Cached file dropped and rebuilt from source: truncated, corrupt,
     * refused by the driver, or without the kernels wanted */
    uint64_t disk_rejects;
    uint64_t disk_write_failures; /* binary could not be saved (only costs speed) */
    /* Cached binaries and tuning files not loaded because they may not be
     * trusted: the file or its directory is not owned by this user, or its
     * group or others may write it, or the file is not a regular file (a
     * FIFO, device or symbolic link). The program is built from source
     * instead (only costs speed). */
    uint64_t disk_untrusted;
    /* The latest such refusal as one line, e.g. "/tmp/clcnn is writable by
     * others (mode 0777)"; "" when there was none. */
    char untrusted_reason[512];
    /* Why the latest failed write of a binary failed, with the path and the
     * system's reason, e.g. "/x/cache/ab12.bin: cannot write: No space left
     * on device"; "" when none failed. */
    char write_failure_reason[512];
} clcnn_cache_stats;

CLCNN_API clcnn_status clcnn_context_cache_stats(const clcnn_context *context,
                                                 clcnn_cache_stats *out);

/* The directory a context's program cache uses when
 * clcnn_context_options.cache_dir is NULL: $CLCNN_CACHE_DIR, else
 * $XDG_CACHE_HOME/clcnn, else $HOME/.cache/clcnn (for such a context,
 * clcnn_context_save_tuning(context, NULL) writes there too), as a
 * NUL-terminated path in out[0 .. size-1]. Reads only the environment.
 * Errors (no context, so status only): NULL out or size 0:
 * CLCNN_ERROR_INVALID_ARGUMENT; none of the three variables set (or all
 * empty): CLCNN_ERROR_NOT_FOUND; a path that needs more than size bytes
 * with its NUL: CLCNN_ERROR_OUT_OF_RANGE; CLCNN_ERROR_OUT_OF_HOST_MEMORY.
 * out is "" on failure when it has room. */
CLCNN_API clcnn_status clcnn_default_cache_dir(char *out, size_t size);

/* ------------------------------------------------------------------ tensors */

#define CLCNN_MAX_DIMS 4

/* A float32 tensor of 1 to 4 dimensions in row-major (NCHW) order, backed by
 * device memory. Created by clcnn_tensor_create or as a view; freed by
 * clcnn_tensor_destroy (NULL is a no-op). A view shares its source's memory;
 * the memory lives until the source and all its views are destroyed, in any
 * order. */
typedef struct clcnn_tensor clcnn_tensor;

/* A zero-filled tensor of shape dims[0..ndim-1]. Every dimension must be at
 * least 1; ndim 1..CLCNN_MAX_DIMS. The device memory comes from the context's
 * pool when a free buffer of the same size is there. */
CLCNN_API clcnn_status clcnn_tensor_create(clcnn_context *context, size_t ndim, const size_t *dims,
                                           clcnn_tensor **out);
/* As clcnn_tensor_create, without the fill (PyTorch's torch.empty): the
 * contents are unspecified, and a pooled buffer still holds what an earlier
 * tensor of this context left in it. For outputs that an op overwrites
 * entirely; saves a launch and a pass over the memory. */
CLCNN_API clcnn_status clcnn_tensor_create_uninitialized(clcnn_context *context, size_t ndim,
                                                         const size_t *dims, clcnn_tensor **out);
CLCNN_API void clcnn_tensor_destroy(clcnn_tensor *tensor);

/* A view of the same elements with another shape of the same element count
 * (reshape, flatten). No data is copied. */
CLCNN_API clcnn_status clcnn_tensor_reshape(const clcnn_tensor *tensor, size_t ndim,
                                            const size_t *dims, clcnn_tensor **out);

CLCNN_API clcnn_context *clcnn_tensor_context(const clcnn_tensor *tensor);
CLCNN_API size_t clcnn_tensor_ndim(const clcnn_tensor *tensor);
/* Size of dimension `axis`; 0 when axis >= ndim. */
CLCNN_API size_t clcnn_tensor_dim(const clcnn_tensor *tensor, size_t axis);
CLCNN_API size_t clcnn_tensor_numel(const clcnn_tensor *tensor);

/* Writes `count` floats from host memory into the tensor, starting at element
 * `offset`. Blocking: the host buffer may be reused on return. */
CLCNN_API clcnn_status clcnn_tensor_write(clcnn_tensor *tensor, size_t offset, const float *host,
                                          size_t count);

/* Reads `count` floats starting at element `offset` into host memory.
 * Blocking. offset + count beyond the tensor is CLCNN_ERROR_OUT_OF_RANGE. */
CLCNN_API clcnn_status clcnn_tensor_read(const clcnn_tensor *tensor, size_t offset, float *host,
                                         size_t count);

/* Sets every element to `value`. Asynchronous (ordered in the queue). */
CLCNN_API clcnn_status clcnn_tensor_fill(clcnn_tensor *tensor, float value);

/* Copies every element of src into dst; both must hold the same number of
 * elements and belong to the same context. Asynchronous. */
CLCNN_API clcnn_status clcnn_tensor_copy(clcnn_tensor *dst, const clcnn_tensor *src);

/* ------------------------------------------------------------------- events */

/* Completion of an asynchronous command. Freed by clcnn_event_destroy (NULL
 * is a no-op), which does not wait. */
typedef struct clcnn_event clcnn_event;

/* Starts reading like clcnn_tensor_read but returns at once; `host` must stay
 * valid and untouched until clcnn_event_wait has returned. */
CLCNN_API clcnn_status clcnn_tensor_read_async(const clcnn_tensor *tensor, size_t offset,
                                               float *host, size_t count, clcnn_event **out);

/* Starts copying `count` floats from host into the tensor at `offset` and
 * returns at once. The copy runs on the context's upload queue, a second
 * in-order queue on the same device, so it can overlap kernels already
 * enqueued (double buffering). It starts once `after` has completed (NULL:
 * at once): pass the clcnn_context_marker taken after the last work that
 * reads the tensor's old contents. Work enqueued on the context does not wait
 * for the copy until clcnn_context_wait_event(context, *out) is called.
 * `host` must stay valid and unchanged until *out has completed. */
CLCNN_API clcnn_status clcnn_tensor_upload_async(clcnn_tensor *tensor, size_t offset,
                                                 const float *host, size_t count,
                                                 const clcnn_event *after, clcnn_event **out);

/* An event that completes once all work enqueued on the context so far has
 * completed. Does not block. */
CLCNN_API clcnn_status clcnn_context_marker(clcnn_context *context, clcnn_event **out);

/* Makes all work enqueued on the context from now on wait for `event` (e.g.
 * an upload) without blocking the host. The event may be destroyed after the
 * call. CLCNN_ERROR_CONTEXT_MISMATCH for an event of another context. */
CLCNN_API clcnn_status clcnn_context_wait_event(clcnn_context *context, const clcnn_event *event);

/* Blocks until the command has completed; returns its error if it failed. */
CLCNN_API clcnn_status clcnn_event_wait(clcnn_event *event);
CLCNN_API void clcnn_event_destroy(clcnn_event *event);

#ifdef __cplusplus
}
#endif

#endif
