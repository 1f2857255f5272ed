/* Auto-tuning of per-device kernel choices.
 *
 * Which implementation an op runs on a device (for conv2d: the algorithm of
 * each pass and, for the DIRECT algorithm, its register tiles; for GEMM:
 * the backend and the tiled kernel's tile width and work-group; for the
 * element-wise kernels: vector width, vectors per work-item and work-group
 * size) comes from
 * the context's tuning table when it holds an entry for that op, pass and
 * shape, else from the library's built-in table (a row per device type and
 * a default row). The tuner fills the table by measuring a handful of
 * candidates on the context's device; the table is stored as a JSON file
 * beside the program disk cache,
 *     <cache directory>/tuning-<hash of the device identity>.json
 * keyed by platform, device, vendor, driver and library version, and read
 * back lazily by later contexts on the same device and cache directory (the
 * first time an op consults it).
 *
 * Stored tuning is advice, never a requirement: a missing, unreadable,
 * corrupt, foreign-version or other-device file is ignored (the built-in
 * choices are used, no error is raised); entries an op does not know are
 * ignored; an entry whose choice does not apply to the shape (an algorithm
 * that does not accept it, tiles that are not among the candidates) falls
 * back to the built-in choice. CLCNN_TUNING=0 in the environment makes
 * contexts ignore stored tuning (choices tuned in the same context still
 * apply). With the context's disk cache off (clcnn_context_options or
 * CLCNN_CACHE=0) tuning lives in the context's memory only.
 *
 * Thread safety: as for every context (clcnn/core.h): the table belongs to
 * its context and is used by one thread at a time. */
#ifndef CLCNN_TUNE_H
#define CLCNN_TUNE_H

#include "clcnn/core.h"

/* clcnn/conv2d.h defines it; declared here so that this header needs only
 * the core. */
struct clcnn_conv2d_params;

#ifdef __cplusplus
extern "C" {
#endif

/* Sizes of the text fields below, terminating NUL included. */
#define CLCNN_TUNE_KEY_MAX 192
#define CLCNN_TUNE_CHOICE_MAX 64

/* The most entries one context's table holds. */
#define CLCNN_TUNE_MAX_ENTRIES 128

/* The outcome of tuning one pass of one shape. */
typedef struct clcnn_tune_result {
    /* The op, pass and shape, e.g.
     * "conv2d.fwd:64x64x32x32,k64x3x3,s1x1,p1x1,d1x1,g1" (N x C x H x W,
     * K x KH x KW, stride, padding, dilation, groups); passes are fwd,
     * bwd_data and bwd_weights. "gemm:1024x1024x1024" (see
     * clcnn_gemm_tune), "pointwise:activation". */
    char key[CLCNN_TUNE_KEY_MAX];
    /* The winner now stored in the table, e.g. "direct kt=8 vw=16 wv=2",
     * "general", "tiled", "tiled nr=32 wg=4x8", "vec=16 items=8 wg=64". */
    char choice[CLCNN_TUNE_CHOICE_MAX];
    /* What the built-in table picks for this shape on this device. */
    char default_choice[CLCNN_TUNE_CHOICE_MAX];
    double best_ms;    /* median time of the winner */
    double default_ms; /* median time of the built-in choice */
    size_t candidates; /* how many candidates were measured */
} clcnn_tune_result;

/* The passes clcnn_conv2d_tune measures: forward, backward data and
 * backward weights, in that order. */
#define CLCNN_CONV2D_TUNE_PASSES 3

/* Measures every conv2d candidate for the convolution of an input of dims
 * x_dims [N, C, H, W] with weights of dims w_dims [K, C/groups, KH, KW]
 * under params (params->algorithm is ignored: tuning decides what
 * CLCNN_CONV2D_ALGO_AUTO picks) on the context's device, for each of the
 * three passes, and stores each pass's fastest candidate in the context's
 * table, replacing an earlier entry for the same key. From then on
 * clcnn_conv2d_* calls with CLCNN_CONV2D_ALGO_AUTO on that shape use it;
 * call clcnn_context_save_tuning to keep it for later contexts.
 *
 * Each candidate runs once unmeasured (to build its programs), then
 * `repeats` times, each run timed by the host clock from an idle queue to
 * clFinish; its figure is the median. A candidate whose first timed run is
 * over three times the best median so far is not run again (it cannot win).
 * Another candidate replaces the built-in choice only when its median is
 * more than 3 % lower (timing noise should not churn the table).
 * The inputs hold constant values; the tuner's tensors come from the
 * context and are freed before it returns. It blocks until done.
 *
 * results: NULL, or room for CLCNN_CONV2D_TUNE_PASSES results, written in
 * pass order; count: NULL, or receives how many were written.
 *
 * Errors: NULL context is CLCNN_ERROR_INVALID_ARGUMENT (no message);
 * NULL params or dims, repeats 0, zero stride, dilation or groups are
 * CLCNN_ERROR_INVALID_ARGUMENT; shapes that break conv2d.h's rules are
 * CLCNN_ERROR_INVALID_SHAPE (or CLCNN_ERROR_SIZE_OVERFLOW); a table without
 * room for the new keys is CLCNN_ERROR_OUT_OF_RANGE; allocation and OpenCL
 * failures of the measured runs return their status. On any error the table
 * is left as it was and the context's last error says why. */
CLCNN_API clcnn_status clcnn_conv2d_tune(clcnn_context *context,
                                         const struct clcnn_conv2d_params *params,
                                         const size_t x_dims[4], const size_t w_dims[4],
                                         size_t repeats, clcnn_tune_result *results, size_t *count);

/* Measures the candidates of the library's single-precision GEMM (the
 * product behind clcnn_gemm and the dense layers) for an m x n x k product
 * (C [m, n] = A [m, k] . B [k, n], no transposes) on the context's device
 * and stores the fastest in the context's table, replacing an earlier
 * entry of the same key, as clcnn_conv2d_tune does (same timing, cutoff
 * and 3 % margin; constant inputs; blocks until done).
 *
 * The candidates are the library's own register-tiled kernel with 16 or 32
 * columns per work-item, each with the driver's work-group or a fixed 4x8
 * or 8x4 one ("tiled nr=32 wg=4x8", "tiled nr=16 wg=auto"), and, on
 * devices where the built-in table picks CLBlast (GPUs), "clblast" (whose
 * own kernels CLBlast's tuner tunes, not this one). The key,
 * "gemm:<M>x<N>x<K>", rounds each size up to a power of two: the entry
 * serves every product of that bucket, whatever its transposes, so tune a
 * shape typical of the bucket. An entry that names no candidate of the
 * device falls back to the built-in choice.
 *
 * result: NULL, or receives the outcome.
 * Errors: NULL context is CLCNN_ERROR_INVALID_ARGUMENT (no message);
 * repeats 0 is CLCNN_ERROR_INVALID_ARGUMENT; m, n or k 0 is
 * CLCNN_ERROR_INVALID_SHAPE; a size past 2^32 - 1 or operands whose size
 * overflows is CLCNN_ERROR_SIZE_OVERFLOW; a full table is
 * CLCNN_ERROR_OUT_OF_RANGE; allocation and OpenCL failures of the measured
 * runs return their status. On any error the table is left as it was. */
CLCNN_API clcnn_status clcnn_gemm_tune(clcnn_context *context, size_t m, size_t n, size_t k,
                                       size_t repeats, clcnn_tune_result *result);

/* The key clcnn_gemm_tune stores for an m x n x k product ("gemm:" and the
 * sizes of its bucket), so that a caller tuning several products can tell
 * which share an entry and tune each bucket once. Errors (no context, so
 * status only): NULL key: CLCNN_ERROR_INVALID_ARGUMENT; m, n or k 0:
 * CLCNN_ERROR_INVALID_SHAPE. */
CLCNN_API clcnn_status clcnn_gemm_tune_key(size_t m, size_t n, size_t k,
                                           char key[CLCNN_TUNE_KEY_MAX]);

/* The kernel families clcnn_pointwise_tune measures, in this order: the
 * activations (clcnn/activation.h, measured on ReLU forward; key
 * "pointwise:activation") and the element-wise arithmetic
 * (clcnn/elementwise.h, measured on clcnn_add; key "pointwise:elementwise").
 * A family's entry applies to all its kernels, forward and backward. */
#define CLCNN_POINTWISE_TUNE_FAMILIES 2

/* Measures the launch layouts of the element-wise kernels on tensors of
 * `elements` floats (a few million make memory, not launch cost, decide)
 * and stores the fastest of each family in the context's table, as
 * clcnn_conv2d_tune does (same timing, cutoff and margin). A layout is the
 * vector width, vectors per work-item and work-group size, as text
 * "vec=16 items=8 wg=64"; an entry that names no candidate falls back to
 * the built-in per-device table. One entry per family and device: the best
 * layout hardly depends on the size once it is large.
 *
 * results: NULL, or room for CLCNN_POINTWISE_TUNE_FAMILIES results, in the
 * order above; count: NULL, or receives how many were written.
 * Errors: NULL context is CLCNN_ERROR_INVALID_ARGUMENT (no message);
 * repeats 0 is CLCNN_ERROR_INVALID_ARGUMENT; elements 0 is
 * CLCNN_ERROR_INVALID_SHAPE; a full table is CLCNN_ERROR_OUT_OF_RANGE;
 * allocation and OpenCL failures return their status. On any error the
 * table is left as it was. */
CLCNN_API clcnn_status clcnn_pointwise_tune(clcnn_context *context, size_t elements, size_t repeats,
                                            clcnn_tune_result *results, size_t *count);

/* Writes the context's tuning table (the stored entries it loaded plus those
 * tuned since, less any cleared) as the tuning file of the context's device
 * in `directory`; NULL: the context's program cache directory. The file is
 * replaced atomically (a temporary file renamed into place), so a reader
 * never sees half of it; the directory is created when missing (0700) and
 * the file is private to the user (0600).
 *
 * With directory NULL and the context's disk cache off nothing is written
 * and CLCNN_OK is returned (tuning is then kept in memory only). Errors:
 * NULL context is CLCNN_ERROR_INVALID_ARGUMENT; a directory that cannot be
 * created or written is CLCNN_ERROR_IO (the old file, if any, is
 * untouched); CLCNN_ERROR_OUT_OF_HOST_MEMORY. */
CLCNN_API clcnn_status clcnn_context_save_tuning(clcnn_context *context, const char *directory);

/* Reads the tuning file of the context's device from `directory` (NULL: the
 * context's program cache directory) into the context's table: its entries
 * replace those of the same keys, the others stay. Entries that are not
 * well-formed are skipped; entries past the table's room are ignored.
 *
 * With CLCNN_TUNING=0 in the environment stored tuning is ignored: nothing
 * is read and CLCNN_OK is returned. Errors: NULL context is
 * CLCNN_ERROR_INVALID_ARGUMENT; no file (or directory NULL with the disk
 * cache off) is CLCNN_ERROR_NOT_FOUND; an unreadable file is CLCNN_ERROR_IO,
 * and so is one that may not be trusted (not a regular file, or the file or
 * its directory not owned by this user or writable by group or others: the
 * contexts' own lazy read skips such a file and counts it in
 * clcnn_cache_stats.disk_untrusted); a file that is not the tuning JSON of
 * this version and device is CLCNN_ERROR_CORRUPT_FILE; in each case the
 * table is left as it was. */
CLCNN_API clcnn_status clcnn_context_load_tuning(clcnn_context *context, const char *directory);

/* Forgets every entry of the context's table: built-in choices are used from
 * now on, and the stored file is not read again by this context (a later
 * clcnn_context_save_tuning writes an empty table). Files are not touched.
 * NULL context is CLCNN_ERROR_INVALID_ARGUMENT. */
CLCNN_API clcnn_status clcnn_context_clear_tuning(clcnn_context *context);

#ifdef __cplusplus
}
#endif

#endif
