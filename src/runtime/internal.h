/* Internal runtime interface shared by src/runtime, src/ops and src/nn: the
 * layout of the public handles, error helpers, program building and the
 * buffer pool. Not installed. Internal non-static names use the clcnn__
 * prefix. */
#ifndef CLCNN_RUNTIME_INTERNAL_H
#define CLCNN_RUNTIME_INTERNAL_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/base.h"
#include "clcnn/core.h"
#include "clcnn/opencl.h"
#include "clcnn/ops.h"
#include "clcnn/tune.h"
#include "runtime/choices.h"

/* ------------------------------------------------------------ small helpers */

#if defined(__GNUC__)
#define CLCNN__PRINTF_LIKE(fmt_index, first_arg) \
    __attribute__((format(printf, fmt_index, first_arg)))
#else
#define CLCNN__PRINTF_LIKE(fmt_index, first_arg)
#endif

/* "CL_INVALID_VALUE" for -30; "CL_UNKNOWN_ERROR" otherwise. */
const char *clcnn__cl_error_name(cl_int code);

/* The status an OpenCL error code stands for (allocation failures become
 * CLCNN_ERROR_OUT_OF_DEVICE_MEMORY / OUT_OF_HOST_MEMORY, the rest
 * CLCNN_ERROR_OPENCL). */
clcnn_status clcnn__status_from_cl(cl_int code);

/* ---------------------------------------------------------------- devices */

struct clcnn_device_list {
    size_t count;
    clcnn_device_info *infos;
    cl_platform_id *platforms;
    cl_device_id *devices;
    char **extensions; /* CL_DEVICE_EXTENSIONS of each device */
};

/* Reads "<prefix>X.Y" at the start of text, followed by its end or a space
 * ("OpenCL 1.1 Mesa 22.3.6" with prefix "OpenCL ", "OpenCL C 1.2 " with
 * "OpenCL C "): returns 1 with *major = X, *minor = Y, else 0 with both 0. */
int clcnn__parse_version(const char *text, const char *prefix, int *major, int *minor);

/* Sets info->supported and info->unsupported_reason from its version
 * strings (device, OpenCL C and platform, all at least 1.2). */
void clcnn__device_check_support(clcnn_device_info *info);

/* The rules of clcnn_device_list_select over count device facts: sets *out
 * to the index of the device `selector` names and returns 1, or returns 0
 * when it names none. Type, text and default selectors prefer a supported
 * device; *out is an unsupported one only when no supported one fits. */
int clcnn__device_find(const clcnn_device_info *infos, size_t count, const char *selector,
                       size_t *out);

/* --------------------------------------------------------- program caching */

typedef struct clcnn__kernel_entry {
    char *name;
    cl_kernel kernel;
} clcnn__kernel_entry;

typedef struct clcnn__program_entry {
    char *source_name;
    char *options;
    cl_program program;
    int from_disk_cache; /* program was loaded from a cached binary */
    clcnn__kernel_entry *kernels;
    size_t kernel_count;
} clcnn__program_entry;

/* One device buffer owned by the pool, free or lent out. */
typedef struct clcnn__pool_buffer {
    cl_mem mem;
    size_t bytes;
    int in_use;
} clcnn__pool_buffer;

/* One stored choice of the tuning table (runtime/tuning.c): for a key naming
 * an op, pass and shape, the choice of the family the key names
 * (runtime/choices.h), with the medians that decided it (0: unknown). */
typedef struct clcnn__tuning_entry {
    char key[CLCNN_TUNE_KEY_MAX];
    clcnn__tuned_choice choice;
    double ms, default_ms;
} clcnn__tuning_entry;

/* A context's tuning table, held inline (no teardown needed). `loaded` is
 * set once the stored file has been consulted (or must not be). */
typedef struct clcnn__tuning_table {
    int loaded;
    size_t count;
    clcnn__tuning_entry entries[CLCNN_TUNE_MAX_ENTRIES];
} clcnn__tuning_table;

/* ------------------------------------------------------------ device table */

/* What the library must know about a device beyond its OpenCL facts
 * (runtime/device_table.c). */
typedef struct clcnn__device_traits {
    /* Whose kernel choices the device takes: CPU, GPU, or OTHER (the
     * generic row). The device's type unless CLCNN_DEVICE_CLASS says
     * otherwise. */
    clcnn_device_type kernel_class;
    /* The most loop trips one work-item may take, all its loops together,
     * before the driver ends them; SIZE_MAX: no limit. */
    size_t loop_trip_limit;
    /* The widest float vector (lanes) worth building for the device. */
    size_t widest_vector;
} clcnn__device_traits;

/* The table's row for a class (CPU, GPU; anything else: the generic one),
 * before any device row: what tests use to run another class's choices. */
const clcnn__device_choices *clcnn__device_class_row(clcnn_device_type kernel_class);

/* Fills the traits and choices of the device described by info from the
 * table, with the class and the test clamps of options or the environment;
 * the clamps lower info's limits (work-group size, local memory, largest
 * allocation) in place. CLCNN_ERROR_INVALID_ARGUMENT with a message for a
 * bad setting. */
clcnn_status clcnn__device_table_resolve(clcnn_device_info *info,
                                         const clcnn_context_options *options,
                                         clcnn__device_traits *traits,
                                         clcnn__device_choices *choices, char *message,
                                         size_t message_size);

struct clcnn_context {
    clcnn_device_info info; /* test clamps (CLCNN_DEVICE_LIMITS) applied */
    clcnn__device_traits traits;
    clcnn__device_choices choices; /* the device table's row (runtime/choices.h) */
    char *extensions;
    cl_platform_id platform;
    cl_device_id device;
    cl_context cl;
    cl_command_queue queue;
    cl_command_queue upload_queue; /* made by the first asynchronous upload */
    int profiling;
    struct clcnn__profile_state *profile; /* a running kernel profile, else NULL */
    int timestamps_plausible;             /* -1 until clcnn_context_check_timestamps probes */
    uint64_t launches;                    /* kernels enqueued (clcnn_context_launch_count) */

    int disk_cache_enabled;
    char *cache_dir; /* NULL when the disk cache is off */
    clcnn_cache_stats cache_stats;
    clcnn__program_entry *programs;
    size_t program_count;
    clcnn__tuning_table tuning;

    clcnn__pool_buffer *pool;
    size_t pool_count;
    clcnn_memory_stats memory;

    /* The last error: the one thing a call through a const handle may
     * change (see clcnn__fail). */
    char *last_error; /* heap message; fallback used when malloc fails */
    char last_error_fallback[512];
    uint64_t error_count; /* messages recorded so far (clcnn__named) */
};

/* --------------------------------------------------------------- errors */

/* Records a formatted message as the context's last error and returns
 * `status`, so callers write `return clcnn__fail(ctx, CLCNN_ERROR_..., ...)`.
 * ctx may be NULL (the message is then dropped).
 *
 * ctx is const because the last error is not part of what a const handle
 * promises to leave alone, like a C++ `mutable` member: functions such as
 * clcnn_context_device_info(const clcnn_context *, ...) must still be able
 * to explain a failure. Every context is allocated by clcnn_context_create
 * and never defined const, so writing through the cast is well defined. */
clcnn_status clcnn__fail(const clcnn_context *ctx, clcnn_status status, const char *format, ...)
    CLCNN__PRINTF_LIKE(3, 4);
clcnn_status clcnn__vfail(const clcnn_context *ctx, clcnn_status status, const char *format,
                          va_list args);

/* Records "<what>: CL_NAME (code)" and returns the matching status. */
clcnn_status clcnn__fail_cl(const clcnn_context *ctx, cl_int code, const char *what);

/* Replaces the last error with an exact string (no formatting), e.g. a long
 * build log. */
void clcnn__set_error_text(const clcnn_context *ctx, const char *text);

/* Every public function names itself in the message of each failure it
 * returns. One that runs code recording messages of its own (helpers,
 * other public functions) takes a mark on entry and passes its result
 * through clcnn__named on the way out:
 *
 *     clcnn__error_mark mark = clcnn__error_mark_take(ctx);
 *     return clcnn__named(ctx, mark, __func__, do_the_work(ctx, ...));
 *
 * A failure whose message does not start with "<function>:" gets that
 * prefix, so nested calls read as a chain ("clcnn_net_forward:
 * clcnn_tensor_create: ..."); a failure that recorded no message at all
 * gets "<function>: <status description>", so a stale message from an
 * earlier call is never left to explain it. */
typedef uint64_t clcnn__error_mark;
clcnn__error_mark clcnn__error_mark_take(const clcnn_context *ctx);
clcnn_status clcnn__named(const clcnn_context *ctx, clcnn__error_mark mark, const char *function,
                          clcnn_status status);

/* ----------------------------------------------------- embedded kernel code */

typedef struct clcnn__embedded_source {
    const char *name; /* file name in cl/, e.g. "util.cl" or "common.h" */
    const char *text;
    size_t length;
} clcnn__embedded_source;

/* Generated at build time from cl/ (see cmake/embed_sources.cmake). */
extern const clcnn__embedded_source clcnn__embedded_sources[];
extern const size_t clcnn__embedded_source_count;

/* The embedded file of that name, or NULL. */
const clcnn__embedded_source *clcnn__find_embedded_source(const char *name);

/* The source with every `#include "name"` of an embedded header replaced by
 * the header's text (recursively, each header once). malloc'ed into *out. */
clcnn_status clcnn__expand_includes(clcnn_context *ctx, const char *source_name, const char *source,
                                    char **out);

/* ----------------------------------------------------------------- programs */

/* The program built from the embedded file `source_name` with the extra
 * build `options` (e.g. "-DTILE=8"; NULL = none), from the context's memory
 * cache, else the disk cache, else compiled. The program stays owned by the
 * context. A failed build gives CLCNN_ERROR_BUILD_FAILED with the build log
 * in the last error. */
clcnn_status clcnn__program_get(clcnn_context *ctx, const char *source_name, const char *options,
                                cl_program *out);

/* The kernel `kernel_name` of that program, created once and then reused.
 * Owned by the context; set its arguments right before each enqueue. When
 * the kernel cannot be created from a program that came from the disk
 * cache, the cached file is dropped and the program rebuilt from source
 * once before the call gives up (a binary the driver loads can still be
 * wrong: another program's, or one whose kernels the driver cannot make). */
clcnn_status clcnn__kernel_get(clcnn_context *ctx, const char *source_name, const char *options,
                               const char *kernel_name, cl_kernel *out);

/* Builds a program from the given source text (includes of embedded headers
 * are expanded), through the disk cache but not the memory cache; the caller
 * releases the program. `label` names it in messages. Used by the cached path
 * above and by tests. */
clcnn_status clcnn__program_build_source(clcnn_context *ctx, const char *label, const char *source,
                                         const char *options, cl_program *out);

/* The kernel `kernel_name` of a program built from source text as
 * clcnn__program_build_source builds it, owned by the caller (the kernel
 * keeps its program alive; clReleaseKernel frees both). As for
 * clcnn__kernel_get, a kernel that cannot be made from a program loaded
 * from the disk cache makes the program be rebuilt from source once, the
 * cached file dropped. No kernel of that name: CLCNN_ERROR_NOT_FOUND. */
clcnn_status clcnn__kernel_build_source(clcnn_context *ctx, const char *label, const char *source,
                                        const char *options, const char *kernel_name,
                                        cl_kernel *out);

/* Releases every program and kernel of the context. */
void clcnn__programs_release(clcnn_context *ctx);

/* ---------------------------------------------------------------- disk cache */

/* The cache file path and identity for a program, computed from the device,
 * driver, library version, expanded source and full options. */
typedef struct clcnn__cache_key {
    char *text;         /* the full key, stored inside the cache file */
    char file_name[40]; /* hex digest + ".bin" */
} clcnn__cache_key;

clcnn_status clcnn__cache_key_make(clcnn_context *ctx, const char *source, const char *full_options,
                                   clcnn__cache_key *out);
void clcnn__cache_key_free(clcnn__cache_key *key);

/* Decides from the options and the environment whether the disk cache is
 * on and where it lives (ctx->cache_dir, NULL when off). */
clcnn_status clcnn__disk_cache_configure(clcnn_context *ctx, const clcnn_context_options *options);

/* Reads the cached binary for key into *binary (malloc'ed) and *size. Returns
 * 1 on a hit, 0 on a miss or a dropped (truncated/corrupt/mismatched) file. */
int clcnn__disk_cache_load(clcnn_context *ctx, const clcnn__cache_key *key, unsigned char **binary,
                           size_t *size);

/* Saves atomically (temp file + rename); failures only count in the stats. */
void clcnn__disk_cache_store(clcnn_context *ctx, const clcnn__cache_key *key,
                             const unsigned char *binary, size_t size);

/* Removes the cache file for key (a binary the driver refused). */
void clcnn__disk_cache_drop(clcnn_context *ctx, const clcnn__cache_key *key);

/* $CLCNN_CACHE_DIR, else $XDG_CACHE_HOME/clcnn, else $HOME/.cache/clcnn,
 * malloc'ed; NULL when none can be named (or out of memory). */
char *clcnn__default_cache_dir(void);

/* Makes dir when missing (clcnn__make_directories), then writes path
 * through a temporary file beside it, private to the user (0600), with
 * fsync and rename, so a crash never leaves a half-written file; `write`
 * fills the file and returns non-zero on success. Returns non-zero on
 * success; else why holds "<path>: <step>: <system reason>". */
int clcnn__write_file_atomically(const char *dir, const char *path,
                                 int (*write)(FILE *file, const void *arg), const void *arg,
                                 char *why, size_t why_size);

/* What clcnn__open_trusted found. */
typedef enum clcnn__open_result {
    CLCNN__OPEN_OK,     /* *fd is open for reading */
    CLCNN__OPEN_ABSENT, /* the directory or the file does not exist */
    CLCNN__OPEN_FAILED, /* it exists but cannot be opened or examined */
    CLCNN__OPEN_REFUSED /* it must not be trusted: see why */
} clcnn__open_result;

/* Opens dir/name for reading only when the file may be trusted with code
 * the process will run: the directory and the file are owned by this user
 * and not writable by group or others, and the file is a regular file
 * (opened without blocking and without following a link, so a FIFO or a
 * device never hangs the process). *fd (blocking, close-on-exec) is -1
 * unless CLCNN__OPEN_OK; why gets a one-line reason otherwise. */
clcnn__open_result clcnn__open_trusted(const char *dir, const char *name, int *fd, char *why,
                                       size_t why_size);

/* Counts a cache or tuning file not loaded because it may not be trusted,
 * and keeps why as the context's latest such reason (the cache stats). */
void clcnn__cache_note_untrusted(clcnn_context *ctx, const char *why);

/* ------------------------------------------------------------------ tuning */

/* The family of tuned choices a key holds, from its prefix ("conv2d.",
 * "gemm:", "pointwise:"): 1 and *family set, or 0 for a key of no such
 * family. */
int clcnn__tuned_family_of(const char *key, clcnn__tuned_family *family);

/* A choice as text (runtime/choices.h), the form of the tuning file and of
 * clcnn_tune_result. */
void clcnn__tuned_choice_format(const clcnn__tuned_choice *choice, char *text, size_t size);

/* Reads text as a choice of family into *out: 1 when text is exactly what
 * clcnn__tuned_choice_format writes for some choice, else 0. Whether the
 * choice applies to a device or shape is the op's to decide. */
int clcnn__tuned_choice_parse(clcnn__tuned_family family, const char *text,
                              clcnn__tuned_choice *out);

/* Whether a and b are the same choice (the same text). */
int clcnn__tuned_choice_equal(const clcnn__tuned_choice *a, const clcnn__tuned_choice *b);

/* The number of entries in the context's tuning table, after reading the
 * stored file on first use (unless CLCNN_TUNING=0 or the disk cache is off;
 * entries whose key names no family or whose text does not parse are
 * dropped). Ops call this before building a key: 0 means built-in choices
 * only. */
size_t clcnn__tuning_count(clcnn_context *ctx);

/* The entry for key, or NULL (after the same first-use read). Its choice is
 * of the family the key names. */
const clcnn__tuning_entry *clcnn__tuning_find(clcnn_context *ctx, const char *key);

/* Adds or replaces the entry for key. CLCNN_ERROR_INVALID_ARGUMENT when key
 * is empty or too long or names another family than choice's (or none),
 * CLCNN_ERROR_OUT_OF_RANGE when the table is full. */
clcnn_status clcnn__tuning_set(clcnn_context *ctx, const char *key,
                               const clcnn__tuned_choice *choice, double ms, double default_ms);

/* Removes the entry for key (nothing when there is none). */
void clcnn__tuning_remove(clcnn_context *ctx, const char *key);

/* ------------------------------------------------------------- buffer pool */

/* A device buffer of at least `bytes` bytes, reused from the pool when a free
 * one fits, else newly created. Checks the size against the device's limits
 * first (CLCNN_ERROR_OUT_OF_DEVICE_MEMORY). */
clcnn_status clcnn__buffer_acquire(clcnn_context *ctx, size_t bytes, cl_mem *out);

/* Returns a buffer from clcnn__buffer_acquire to the pool (not to the
 * driver). */
void clcnn__buffer_release(clcnn_context *ctx, cl_mem mem);

/* Frees every buffer of the pool, lent out or not (context teardown). */
void clcnn__pool_destroy(clcnn_context *ctx);

/* ------------------------------------------------------------------- tensors */

/* Storage shared by a tensor and its views. A storage made by
 * clcnn__storage_view is an OpenCL sub-buffer of its parent's buffer. */
typedef struct clcnn__storage {
    clcnn_context *ctx;
    cl_mem mem;
    size_t bytes;
    size_t refcount;
    struct clcnn__storage *parent; /* sub-buffer views: holds a reference; else NULL */
    size_t offset;                 /* sub-buffer views: first element in the parent */
    /* Made by clcnn__arena_create: the gaps between its views are used by
     * nothing else and stay zero (see there). */
    int arena;
} clcnn__storage;

struct clcnn_tensor {
    clcnn__storage *storage;
    size_t ndim;
    size_t dims[CLCNN_MAX_DIMS];
    size_t numel;
};

struct clcnn_event {
    clcnn_context *ctx;
    cl_event event;
};

/* Enqueues a non-blocking copy of `bytes` from host into mem on the upload
 * queue, after `after` (may be NULL); *out completes with the copy. */
clcnn_status clcnn__upload_async(clcnn_context *ctx, cl_mem mem, size_t byte_offset, size_t bytes,
                                 const void *host, const clcnn_event *after, clcnn_event **out);

/* CL_DEVICE_MEM_BASE_ADDR_ALIGN in bytes (at least sizeof(float)): the
 * alignment of a view's first byte within its parent buffer. */
clcnn_status clcnn__view_alignment(clcnn_context *ctx, size_t *bytes);

/* A tensor of shape dims viewing the elements [offset, offset + numel) of
 * root's buffer through an OpenCL sub-buffer. root must not itself be a view
 * (no parent); offset * sizeof(float) must be a multiple of
 * clcnn__view_alignment (else CLCNN_ERROR_INVALID_ARGUMENT) and the range
 * inside root (else CLCNN_ERROR_OUT_OF_RANGE). The view keeps root alive. */
clcnn_status clcnn__storage_view(clcnn__storage *root, size_t offset, size_t ndim,
                                 const size_t *dims, clcnn_tensor **out);

/* ------------------------------------------------------------------ arenas */

/* An arena is one zero-filled buffer holding tensors as views, one after
 * another, each at the next multiple of the view alignment
 * (runtime/arena.c). The gaps between the views are used by nothing else
 * and stay zero, so an element-wise op that maps zeros to zeros may run
 * over a whole run of views at once: a network zeroes every gradient with
 * one fill and an optimizer updates every parameter with one launch. */

typedef struct clcnn__shape {
    size_t ndim;
    size_t dims[CLCNN_MAX_DIMS];
} clcnn__shape;

/* Zero-filled tensors[i] shaped as shapes[i], i < count: views of a new
 * arena (*out, for one fill or launch over all of them) or, when the arena
 * would not fit in one allocation of the device, separate tensors with
 * *out NULL. The caller destroys every tensor and the arena, in any order.
 * On failure (a shape's, a tensor's creation) nothing is left made. */
clcnn_status clcnn__arena_create(clcnn_context *ctx, size_t count, const clcnn__shape *shapes,
                                 clcnn_tensor **tensors, clcnn_tensor **out);

/* A 1-D view of tensors[0..count-1] and the gaps between them when they lie
 * in one arena laid out as clcnn__arena_create lays them out (the whole
 * list or a run of it, from any of its tensors on); else *out is NULL. */
clcnn_status clcnn__arena_span(size_t count, clcnn_tensor *const *tensors, clcnn_tensor **out);

/* ------------------------------------------------------------ tensor checks */

/* The checks every op makes (runtime/checks.c). `what` names the operand
 * with its function ("clcnn_dense_forward: x"); the pair checks take the
 * function and each operand's name. Messages carry the shapes. */

/* Non-NULL (CLCNN_ERROR_INVALID_ARGUMENT) and of ctx
 * (CLCNN_ERROR_CONTEXT_MISMATCH). */
clcnn_status clcnn__check_tensor(clcnn_context *ctx, const clcnn_tensor *tensor, const char *what);

/* clcnn__check_tensor for tensors[0..count-1], each named "<function>:
 * <names[i]>"; the optional form lets NULL entries pass. */
clcnn_status clcnn__check_tensors(clcnn_context *ctx, const char *function,
                                  const clcnn_tensor *const *tensors, const char *const *names,
                                  size_t count);
clcnn_status clcnn__check_optional_tensors(clcnn_context *ctx, const char *function,
                                           const clcnn_tensor *const *tensors,
                                           const char *const *names, size_t count);

/* The same rank and dimensions, else CLCNN_ERROR_INVALID_SHAPE. */
int clcnn__same_shape(const clcnn_tensor *a, const clcnn_tensor *b);
clcnn_status clcnn__check_same_shape(clcnn_context *ctx, const char *function, const char *a_name,
                                     const clcnn_tensor *a, const char *b_name,
                                     const clcnn_tensor *b);

/* The same number of elements, in any shape. */
clcnn_status clcnn__check_same_numel(clcnn_context *ctx, const char *function, const char *a_name,
                                     const clcnn_tensor *a, const char *b_name,
                                     const clcnn_tensor *b);

/* least <= ndim <= most. */
clcnn_status clcnn__check_rank(clcnn_context *ctx, const char *what, const clcnn_tensor *tensor,
                               size_t least, size_t most);

/* Exactly dims[0..ndim-1], CLCNN__ANY_DIM matching any size. */
#define CLCNN__ANY_DIM ((size_t)-1)
clcnn_status clcnn__check_dims(clcnn_context *ctx, const char *what, const clcnn_tensor *tensor,
                               size_t ndim, const size_t *dims);

/* The same, for a shape that another operand sets, named in the message
 * with its shape ("w [5, 7] must be [*, 6] to match x [4, 6]"). */
clcnn_status clcnn__check_dims_match(clcnn_context *ctx, const char *function, const char *name,
                                     const clcnn_tensor *tensor, size_t ndim, const size_t *dims,
                                     const char *ref_name, const clcnn_tensor *ref);

/* Whether the elements of a and b share any device memory (views of one
 * buffer count by their ranges). */
int clcnn__tensors_overlap(const clcnn_tensor *a, const clcnn_tensor *b);

/* Not overlapping, else CLCNN_ERROR_INVALID_ARGUMENT (an op whose output
 * must not alias an input). */
clcnn_status clcnn__check_distinct(clcnn_context *ctx, const char *function, const char *a_name,
                                   const clcnn_tensor *a, const char *b_name,
                                   const clcnn_tensor *b);

/* CLCNN_GRAD_OVERWRITE or CLCNN_GRAD_ACCUMULATE, else
 * CLCNN_ERROR_INVALID_ARGUMENT ("<function>: unknown grad mode 7"). */
clcnn_status clcnn__check_grad_mode(clcnn_context *ctx, const char *function, clcnn_grad_mode mode);

/* Formats "[2, 3, 4]" into buffer (for messages). */
const char *clcnn__shape_string(const clcnn_tensor *tensor, char *buffer, size_t size);

/* ------------------------------------------------------------------ launching */

/* One kernel launch being prepared (runtime/launch.c), the only way the
 * library launches kernels:
 *
 *     clcnn__launch launch;
 *     clcnn_status status = clcnn__launch_prepare(ctx, "util.cl", NULL, "fill_float", &launch);
 *     clcnn__arg_mem(&launch, buffer);
 *     clcnn__arg_ulong(&launch, count);
 *     clcnn__arg_float(&launch, value);
 *     if (status == CLCNN_OK)
 *         status = clcnn__launch_run(&launch, 1, &global, NULL);
 *
 * Arguments are set in order; the first that fails (the driver refuses it,
 * or a size does not fit the kernel's int or uint) is kept, the rest are
 * skipped, and clcnn__launch_run reports it with the kernel's name and the
 * argument's index. */
typedef struct clcnn__launch {
    clcnn_context *ctx;
    cl_kernel kernel;
    cl_uint next;            /* index of the next argument */
    cl_int error;            /* the first clSetKernelArg failure */
    cl_uint failed_index;    /* its argument, or the one out of range */
    const char *range_error; /* "int", "uint", "int vector": a value did not fit; else NULL */
} clcnn__launch;

clcnn__launch clcnn__launch_begin(clcnn_context *ctx, cl_kernel kernel);

/* clcnn__kernel_get, then clcnn__launch_begin; on failure *out holds no
 * kernel (its arguments are ignored and its run fails). */
clcnn_status clcnn__launch_prepare(clcnn_context *ctx, const char *source, const char *options,
                                   const char *name, clcnn__launch *out);

void clcnn__arg_mem(clcnn__launch *launch, cl_mem mem);
void clcnn__arg_tensor(clcnn__launch *launch, const clcnn_tensor *tensor);
/* An int or uint argument from a size; one that does not fit fails the
 * launch with CLCNN_ERROR_SIZE_OVERFLOW. */
void clcnn__arg_int(clcnn__launch *launch, size_t value);
void clcnn__arg_uint(clcnn__launch *launch, size_t value);
/* An int2, int4, int8 or int16 argument (count of them) from sizes, each
 * checked as clcnn__arg_int's. */
void clcnn__arg_int_vector(clcnn__launch *launch, const size_t *values, size_t count);
void clcnn__arg_ulong(clcnn__launch *launch, uint64_t value);
void clcnn__arg_float(clcnn__launch *launch, float value);
/* `bytes` of local memory. */
void clcnn__arg_local(clcnn__launch *launch, size_t bytes);
/* An argument of any type as `size` bytes at value (NULL: `size` bytes of
 * local memory): a user kernel's kept arguments (runtime/user_kernel.c),
 * whose types only the caller knows. */
void clcnn__arg_bytes(clcnn__launch *launch, size_t size, const void *value);

/* Enqueues the kernel over global[0..dims-1] work-items in work-groups of
 * local (NULL: the driver chooses). Fails, without enqueueing, on an
 * argument that failed, a global size that is not a multiple of the local
 * one, or a work-group larger than the compiled kernel allows here
 * (CLCNN_ERROR_UNSUPPORTED): ops ask clcnn__kernel_work_group_limit first
 * and choose a size that fits. A zero global size enqueues nothing. */
clcnn_status clcnn__launch_run(clcnn__launch *launch, cl_uint dims, const size_t *global,
                               const size_t *local);

/* clcnn__launch_run that also gives the launch's event in *event (the
 * caller releases it; NULL when nothing was enqueued). */
clcnn_status clcnn__launch_run_event(clcnn__launch *launch, cl_uint dims, const size_t *global,
                                     const size_t *local, cl_event *event);

/* clcnn__launch_run for kernels that work with any work-group size: the
 * preferred one, or where the compiled kernel allows fewer work-items (a
 * GPU driver may for a kernel with many registers; llvmpipe allows 32),
 * that with its largest side halved until it fits. Sides halved must be
 * even, and the global size a multiple of the preferred one. */
clcnn_status clcnn__launch_run_fitted(clcnn__launch *launch, cl_uint dims, const size_t *global,
                                      const size_t *preferred);

/* A launch of a kernel whose arguments the caller set some other way
 * (tests), as clcnn__launch_run_fitted. */
clcnn_status clcnn__enqueue_kernel(clcnn_context *ctx, cl_kernel kernel, cl_uint work_dim,
                                   const size_t *global, const size_t *local);

/* How many units of work one work-item may take when each costs about
 * trips_per_unit loop trips, under the device's loop-trip limit (half of
 * it, for safety); SIZE_MAX without a limit, at least 1. Ops whose kernels
 * loop over a data-dependent range split the range to stay under it. */
size_t clcnn__loop_trips_allowed(const clcnn_context *ctx, size_t trips_per_unit);

/* The largest work-group the compiled kernel may run in on ctx's device:
 * CL_KERNEL_WORK_GROUP_SIZE, which may be below the device's maximum, and
 * never above the (possibly clamped) device maximum. */
clcnn_status clcnn__kernel_work_group_limit(clcnn_context *ctx, cl_kernel kernel, size_t *out);

/* Rounds value up to a multiple of `multiple` (> 0). */
size_t clcnn__round_up(size_t value, size_t multiple);

/* ------------------------------------------------------------- profiling */

/* The state of a running kernel profile (runtime/profile.c). */
typedef struct clcnn__profile_state clcnn__profile_state;

/* The host's monotonic clock in nanoseconds. */
uint64_t clcnn__host_clock_ns(void);

/* Whether the device timestamps of `count` commands that ran one after
 * another on an in-order queue, within wall_ns of host time, can be true:
 * stamps holds start, end of each in turn; each must end after it starts,
 * none start before the previous one ended, and together they must fit in
 * the wall time (runtime/timestamps.c). */
int clcnn__timestamps_plausible(const uint64_t *stamps, size_t count, uint64_t wall_ns);

/* Called by clcnn__enqueue_kernel right before each launch while
 * ctx->profile is set; returns the host time to hand to
 * clcnn__profile_record (0 unless the profile times launches on the host,
 * in which case the queue is drained first). */
uint64_t clcnn__profile_launch_begins(clcnn_context *ctx);

/* Called by clcnn__enqueue_kernel for each launch while ctx->profile is set:
 * takes over `event` (NULL: the launch is counted, not timed). Never fails. */
void clcnn__profile_record(clcnn_context *ctx, cl_kernel kernel, cl_event event,
                           uint64_t host_start);

/* Drops a running profile without reading it (context teardown). */
void clcnn__profile_discard(clcnn_context *ctx);

#endif
