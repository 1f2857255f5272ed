/* Per-context kernel profiles (include/clcnn/profile.h): clcnn__enqueue_kernel
 * hands each launch's event here while a profile runs; the events are read
 * in batches and summed per kernel name. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "clcnn/profile.h"
#include "runtime/internal.h"

/* Launches whose events are kept before the host waits and reads them:
 * bounds the memory (and the driver's live events) of a long profiled run. */
#define MAX_PENDING 4096

/* A kernel object seen in this profile (retained, so that its handle cannot
 * be reused for another kernel while it is in the table) and its entry. */
typedef struct seen_kernel {
    cl_kernel kernel;
    size_t entry;
} seen_kernel;

typedef struct pending_launch {
    cl_event event;
    size_t entry;
} pending_launch;

struct clcnn__profile_state {
    seen_kernel *kernels;
    size_t kernel_count, kernel_capacity;
    size_t last_kernel;           /* index of the last hit: launches come in runs */
    clcnn_profile_entry *entries; /* names malloc'ed */
    size_t entry_count, entry_capacity;
    pending_launch *pending;
    size_t pending_count;
    clcnn_profile_totals totals;
    uint64_t first_start, last_end; /* of the timed launches */
    uint64_t previous_end;          /* device clock: the end of the last launch read */
};

struct clcnn_profile {
    clcnn_profile_entry *entries; /* names malloc'ed */
    size_t count;
    clcnn_profile_totals totals;
};

/* Grows *array (of `size`-byte items) to hold one more; 0 when out of memory. */
static int reserve(void **array, size_t *capacity, size_t count, size_t size) {
    if (count < *capacity)
        return 1;
    size_t grown_capacity = *capacity ? *capacity * 2 : 16;
    void *grown = realloc(*array, grown_capacity * size);
    if (grown == NULL)
        return 0;
    *array = grown;
    *capacity = grown_capacity;
    return 1;
}

static void free_entries(clcnn_profile_entry *entries, size_t count) {
    /* The names were malloc'ed here; the public field is const for callers. */
    for (size_t i = 0; i < count; i++)
        free((void *)(uintptr_t)entries[i].name);
    free(entries);
}

static void state_free(clcnn__profile_state *state) {
    for (size_t i = 0; i < state->pending_count; i++)
        clReleaseEvent(state->pending[i].event);
    for (size_t i = 0; i < state->kernel_count; i++)
        clReleaseKernel(state->kernels[i].kernel);
    free(state->pending);
    free(state->kernels);
    free_entries(state->entries, state->entry_count);
    free(state);
}

/* ------------------------------------------------------------- recording */

/* The entry named `name`, added when new; SIZE_MAX when out of memory. */
static size_t entry_for_name(clcnn__profile_state *state, const char *name) {
    for (size_t i = 0; i < state->entry_count; i++)
        if (strcmp(state->entries[i].name, name) == 0)
            return i;
    if (!reserve((void **)&state->entries, &state->entry_capacity, state->entry_count,
                 sizeof *state->entries))
        return SIZE_MAX;
    char *copy = clcnn__strdup(name);
    if (copy == NULL)
        return SIZE_MAX;
    clcnn_profile_entry *entry = &state->entries[state->entry_count];
    memset(entry, 0, sizeof *entry);
    entry->name = copy;
    return state->entry_count++;
}

/* The entry of a kernel object: looked up by handle, else by its function
 * name; SIZE_MAX when out of memory. */
static size_t entry_for_kernel(clcnn__profile_state *state, cl_kernel kernel) {
    if (state->last_kernel < state->kernel_count &&
        state->kernels[state->last_kernel].kernel == kernel)
        return state->kernels[state->last_kernel].entry;
    for (size_t i = 0; i < state->kernel_count; i++)
        if (state->kernels[i].kernel == kernel) {
            state->last_kernel = i;
            return state->kernels[i].entry;
        }
    char name[128] = "?";
    if (clGetKernelInfo(kernel, CL_KERNEL_FUNCTION_NAME, sizeof name, name, NULL) != CL_SUCCESS)
        strcpy(name, "?");
    name[sizeof name - 1] = '\0';
    if (!reserve((void **)&state->kernels, &state->kernel_capacity, state->kernel_count,
                 sizeof *state->kernels))
        return SIZE_MAX;
    size_t entry = entry_for_name(state, name);
    if (entry == SIZE_MAX || clRetainKernel(kernel) != CL_SUCCESS)
        return SIZE_MAX;
    state->kernels[state->kernel_count] = (seen_kernel){kernel, entry};
    state->last_kernel = state->kernel_count++;
    return entry;
}

/* Adds one launch's time [start, end] (ns of either clock) to its entry and
 * the totals. */
static void add_time(clcnn__profile_state *state, size_t entry_index, uint64_t start,
                     uint64_t end) {
    uint64_t ns = end - start;
    clcnn_profile_entry *entry = &state->entries[entry_index];
    entry->min_ns = entry->timed_launches == 0 || ns < entry->min_ns ? ns : entry->min_ns;
    entry->max_ns = ns > entry->max_ns ? ns : entry->max_ns;
    entry->total_ns += ns;
    entry->timed_launches++;
    state->totals.total_ns += ns;
    if (state->totals.timed_launches == 0 || start < state->first_start)
        state->first_start = start;
    if (end > state->last_end)
        state->last_end = end;
    state->totals.timed_launches++;
}

/* Reads the device times of one finished launch; a launch that failed,
 * gives no times or times that cannot be true (it ends before it starts,
 * or starts before the launch before it ended) stays untimed. */
static void read_times(clcnn__profile_state *state, const pending_launch *launch) {
    cl_ulong start = 0, end = 0;
    if (clWaitForEvents(1, &launch->event) != CL_SUCCESS ||
        clGetEventProfilingInfo(launch->event, CL_PROFILING_COMMAND_START, sizeof start, &start,
                                NULL) != CL_SUCCESS ||
        clGetEventProfilingInfo(launch->event, CL_PROFILING_COMMAND_END, sizeof end, &end, NULL) !=
            CL_SUCCESS)
        return;
    if (end < start || start < state->previous_end)
        return;
    state->previous_end = end;
    add_time(state, launch->entry, start, end);
}

/* Waits for every pending launch, reads it and lets its event go. */
static void drain(clcnn__profile_state *state) {
    for (size_t i = 0; i < state->pending_count; i++) {
        read_times(state, &state->pending[i]);
        clReleaseEvent(state->pending[i].event);
    }
    state->pending_count = 0;
}

uint64_t clcnn__profile_launch_begins(clcnn_context *ctx) {
    if (ctx->profile->totals.clock != CLCNN_PROFILE_CLOCK_HOST)
        return 0;
    clFinish(ctx->queue);
    return clcnn__host_clock_ns();
}

void clcnn__profile_record(clcnn_context *ctx, cl_kernel kernel, cl_event event,
                           uint64_t host_start) {
    clcnn__profile_state *state = ctx->profile;
    state->totals.launches++;
    size_t entry = entry_for_kernel(state, kernel);
    if (entry != SIZE_MAX)
        state->entries[entry].launches++;
    if (state->totals.clock == CLCNN_PROFILE_CLOCK_HOST) {
        /* Timed here and now: the launch runs alone. */
        int finished = event != NULL && clWaitForEvents(1, &event) == CL_SUCCESS;
        if (finished && entry != SIZE_MAX)
            add_time(state, entry, host_start, clcnn__host_clock_ns());
        if (event != NULL)
            clReleaseEvent(event);
        return;
    }
    if (entry == SIZE_MAX || event == NULL) {
        if (event != NULL)
            clReleaseEvent(event);
        return;
    }
    if (state->pending_count == MAX_PENDING)
        drain(state);
    state->pending[state->pending_count++] = (pending_launch){event, entry};
}

void clcnn__profile_discard(clcnn_context *ctx) {
    if (ctx->profile != NULL)
        state_free(ctx->profile);
    ctx->profile = NULL;
}

/* ------------------------------------------------------------ public API */

clcnn_status clcnn_context_launch_count(const clcnn_context *context, uint64_t *out) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    if (out == NULL)
        return clcnn__fail(context, CLCNN_ERROR_INVALID_ARGUMENT,
                           "clcnn_context_launch_count: out is NULL");
    *out = context->launches;
    return CLCNN_OK;
}

clcnn_status clcnn_context_profile_start(clcnn_context *context) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    if (!context->profiling)
        return clcnn__fail(context, CLCNN_ERROR_INVALID_ARGUMENT,
                           "clcnn_context_profile_start: the context was created without "
                           "enable_profiling (clcnn_context_options)");
    if (context->profile != NULL)
        return clcnn__fail(context, CLCNN_ERROR_INVALID_ARGUMENT,
                           "clcnn_context_profile_start: a profile is already running");
    int plausible = 0;
    clcnn_status status = clcnn_context_check_timestamps(context, &plausible);
    if (status != CLCNN_OK)
        return status;
    clcnn__profile_state *state = calloc(1, sizeof *state);
    if (state != NULL)
        state->pending = malloc(MAX_PENDING * sizeof *state->pending);
    if (state == NULL || state->pending == NULL) {
        free(state);
        return clcnn__fail(context, CLCNN_ERROR_OUT_OF_HOST_MEMORY, "%s: out of host memory",
                           __func__);
    }
    state->totals.clock = plausible ? CLCNN_PROFILE_CLOCK_DEVICE : CLCNN_PROFILE_CLOCK_HOST;
    context->profile = state;
    return CLCNN_OK;
}

static int by_time_then_name(const void *a, const void *b) {
    const clcnn_profile_entry *x = a, *y = b;
    if (x->total_ns != y->total_ns)
        return x->total_ns > y->total_ns ? -1 : 1;
    return strcmp(x->name, y->name);
}

clcnn_status clcnn_context_profile_stop(clcnn_context *context, clcnn_profile **out) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    if (out == NULL)
        return clcnn__fail(context, CLCNN_ERROR_INVALID_ARGUMENT,
                           "clcnn_context_profile_stop: out is NULL");
    *out = NULL;
    clcnn__profile_state *state = context->profile;
    if (state == NULL)
        return clcnn__fail(context, CLCNN_ERROR_INVALID_ARGUMENT,
                           "clcnn_context_profile_stop: no profile is running (call "
                           "clcnn_context_profile_start first)");
    context->profile = NULL;
    cl_int err = clFinish(context->queue);
    if (err != CL_SUCCESS) {
        state_free(state);
        return clcnn__fail_cl(context, err, "clcnn_context_profile_stop: clFinish");
    }
    drain(state);
    clcnn_profile *profile = calloc(1, sizeof *profile);
    if (profile == NULL) {
        state_free(state);
        return clcnn__fail(context, CLCNN_ERROR_OUT_OF_HOST_MEMORY, "%s: out of host memory",
                           __func__);
    }
    /* The entries (and their names) move to the profile. */
    profile->entries = state->entries;
    profile->count = state->entry_count;
    profile->totals = state->totals;
    if (state->totals.timed_launches != 0)
        profile->totals.span_ns = state->last_end - state->first_start;
    state->entries = NULL;
    state->entry_count = 0;
    state_free(state);
    if (profile->count > 1)
        qsort(profile->entries, profile->count, sizeof *profile->entries, by_time_then_name);
    *out = profile;
    return CLCNN_OK;
}

void clcnn_profile_destroy(clcnn_profile *profile) {
    if (profile == NULL)
        return;
    free_entries(profile->entries, profile->count);
    free(profile);
}

size_t clcnn_profile_count(const clcnn_profile *profile) {
    return profile != NULL ? profile->count : 0;
}

clcnn_status clcnn_profile_entry_get(const clcnn_profile *profile, size_t index,
                                     clcnn_profile_entry *out) {
    if (profile == NULL || out == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    if (index >= profile->count)
        return CLCNN_ERROR_OUT_OF_RANGE;
    *out = profile->entries[index];
    return CLCNN_OK;
}

clcnn_status clcnn_profile_find(const clcnn_profile *profile, const char *name,
                                clcnn_profile_entry *out) {
    if (profile == NULL || name == NULL || out == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    for (size_t i = 0; i < profile->count; i++)
        if (strcmp(profile->entries[i].name, name) == 0) {
            *out = profile->entries[i];
            return CLCNN_OK;
        }
    return CLCNN_ERROR_NOT_FOUND;
}

clcnn_status clcnn_profile_totals_get(const clcnn_profile *profile, clcnn_profile_totals *out) {
    if (profile == NULL || out == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    *out = profile->totals;
    return CLCNN_OK;
}
