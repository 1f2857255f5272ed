/* Kernel profiles: which kernels a piece of work launches, how often, and
 * how long each ran on the device.
 *
 * A profile belongs to one context and needs a context created with
 * clcnn_context_options.enable_profiling. Between
 * clcnn_context_profile_start and clcnn_context_profile_stop every kernel
 * the library launches on that context keeps its OpenCL event; stop waits
 * for the queue, reads each event's CL_PROFILING_COMMAND_START and _END and
 * sums them per kernel name. Transfers (tensor reads, writes, copies) are
 * not kernels and are not counted.
 *
 * Cost: one event per launch, and while more than a few thousand launches
 * are pending the host waits for them to be read (so a long profiled run
 * stays within a fixed amount of memory). Profiling never makes a launch
 * fail: when the host runs out of memory for the bookkeeping a launch is
 * still counted in the totals but not timed.
 *
 * Thread safety: like the context (one thread at a time). A clcnn_profile
 * is a plain snapshot, independent of its context once made. */
#ifndef CLCNN_PROFILE_H
#define CLCNN_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#include "clcnn/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The result of a profiled run. Owned by the caller; free with
 * clcnn_profile_destroy (NULL is a no-op). */
typedef struct clcnn_profile clcnn_profile;

/* One kernel name (launches of kernels of the same name built with different
 * options are summed). Times are device nanoseconds from the OpenCL
 * profiling counters; min and max are over the timed launches (0 when none
 * was timed). */
typedef struct clcnn_profile_entry {
    const char *name;        /* valid until the profile is destroyed */
    uint64_t launches;       /* every launch of this kernel */
    uint64_t timed_launches; /* launches whose times were read (<= launches) */
    uint64_t total_ns;
    uint64_t min_ns;
    uint64_t max_ns;
} clcnn_profile_entry;

typedef struct clcnn_profile_totals {
    uint64_t launches;       /* every launch, including any not timed */
    uint64_t timed_launches; /* launches whose times were read */
    uint64_t total_ns;       /* sum of the kernels' device times */
    /* From the start of the first timed kernel to the end of the last: the
     * device time the run spanned, kernels and the gaps between them (time
     * the device waited for the host or ran transfers). 0 when nothing was
     * timed. */
    uint64_t span_ns;
    /* Which clock timed the launches: CLCNN_PROFILE_CLOCK_DEVICE (the
     * profiling timestamps), or CLCNN_PROFILE_CLOCK_HOST where the device's
     * timestamps are implausible (clcnn_context_check_timestamps): each
     * launch then ran alone, the queue drained before and after it, timed
     * by the host from just before its enqueue to its completion. */
    int clock;
} clcnn_profile_totals;

#define CLCNN_PROFILE_CLOCK_DEVICE 0
#define CLCNN_PROFILE_CLOCK_HOST 1

/* Whether the device's profiling timestamps can be believed: measured once
 * per context, by two small launches whose device times must be in order
 * and fit in the host time they took, then remembered. Some drivers fill in
 * placeholders (Mesa 22.3's rusticl reports every command as starting at 2
 * and ending at 3 ns); tools then time on the host (clcnn-bench does, and
 * says so). *plausible is 1 or 0. Errors: NULL context:
 * CLCNN_ERROR_INVALID_ARGUMENT; NULL plausible, or a context made without
 * enable_profiling: CLCNN_ERROR_INVALID_ARGUMENT with a message; a failed
 * probe: its status. */
CLCNN_API clcnn_status clcnn_context_check_timestamps(clcnn_context *context, int *plausible);

/* How many kernels the library has enqueued on this context since it was
 * created: every op's, every user kernel's (clcnn/kernel.h) and the
 * timestamp probe's, with or without enable_profiling. Tools count launches
 * per step by difference (clcnn-bench does). Kernels run inside CLBlast
 * are not seen. Errors: NULL context: CLCNN_ERROR_INVALID_ARGUMENT; NULL
 * out: CLCNN_ERROR_INVALID_ARGUMENT with a message. */
CLCNN_API clcnn_status clcnn_context_launch_count(const clcnn_context *context, uint64_t *out);

/* Starts recording the kernel launches of this context. Errors: NULL
 * context: CLCNN_ERROR_INVALID_ARGUMENT; a context made without
 * enable_profiling, or a profile already running:
 * CLCNN_ERROR_INVALID_ARGUMENT (with the reason as the last error); no
 * memory for the bookkeeping: CLCNN_ERROR_OUT_OF_HOST_MEMORY. */
CLCNN_API clcnn_status clcnn_context_profile_start(clcnn_context *context);

/* Waits for every command of the context's queue, stops recording and gives
 * the profile, its entries sorted by total device time (longest first; ties
 * by name). Recording stops even when this fails. Errors: NULL context or
 * out, no profile running: CLCNN_ERROR_INVALID_ARGUMENT; a failed command
 * in the queue: its status (as clcnn_context_finish); no memory for the
 * result: CLCNN_ERROR_OUT_OF_HOST_MEMORY. *out is NULL on failure. */
CLCNN_API clcnn_status clcnn_context_profile_stop(clcnn_context *context, clcnn_profile **out);

CLCNN_API void clcnn_profile_destroy(clcnn_profile *profile);

/* Number of distinct kernel names; 0 for NULL. */
CLCNN_API size_t clcnn_profile_count(const clcnn_profile *profile);

/* Entry `index` (0 .. count-1) in sorted order. Errors: NULL profile or out:
 * CLCNN_ERROR_INVALID_ARGUMENT; index out of range: CLCNN_ERROR_OUT_OF_RANGE. */
CLCNN_API clcnn_status clcnn_profile_entry_get(const clcnn_profile *profile, size_t index,
                                               clcnn_profile_entry *out);

/* The entry of the kernel called `name`. Errors: NULL argument:
 * CLCNN_ERROR_INVALID_ARGUMENT; no launch of that kernel:
 * CLCNN_ERROR_NOT_FOUND. */
CLCNN_API clcnn_status clcnn_profile_find(const clcnn_profile *profile, const char *name,
                                          clcnn_profile_entry *out);

/* Sums over every launch. NULL profile or out: CLCNN_ERROR_INVALID_ARGUMENT. */
CLCNN_API clcnn_status clcnn_profile_totals_get(const clcnn_profile *profile,
                                                clcnn_profile_totals *out);

#ifdef __cplusplus
}
#endif

#endif
