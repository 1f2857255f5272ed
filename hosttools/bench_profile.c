/* clcnn-bench --profile: after a benchmark is timed, a few more runs of its
 * work with the library's kernel profile on (include/clcnn/profile.h): the
 * kernels that take the step's device time, the launches per step, and the
 * device's kernel time against the host's wall time, whose difference is
 * the part of a step in which the device ran no kernel (the host preparing
 * and enqueueing work, transfers, waits). Kept as a JSON object under the
 * result ("profile"), printed under the result's line as a small table. */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>

#include "bench.h"
#include "clcnn/profile.h"

#define PROFILE_STEPS 3
#define TOP_KERNELS 8

/* The profile of PROFILE_STEPS runs, each drained as the timed samples are. */
static int profile_runs(const bench_region *region, clcnn_profile **out, double *wall_ms,
                        long *counted) {
    clcnn_context *ctx = region->ctx;
    clcnn_status status = clcnn_context_finish(ctx);
    if (status == CLCNN_OK)
        status = clcnn_context_profile_start(ctx);
    if (status != CLCNN_OK)
        return bench_fail(region->name, status, ctx);
    long before = bench_launch_count(ctx);
    double start = bench_now_ms();
    int failed = 0;
    for (size_t i = 0; i < PROFILE_STEPS && !failed; i++) {
        failed = region->run(region->state) != 0; /* the region printed why */
        status = failed ? CLCNN_OK : clcnn_context_finish(ctx);
        if (status != CLCNN_OK)
            failed = bench_fail(region->name, status, ctx);
    }
    *wall_ms = bench_now_ms() - start;
    *counted = before >= 0 ? bench_launch_count(ctx) - before : -1;
    status = clcnn_context_profile_stop(ctx, out);
    if (failed) {
        clcnn_profile_destroy(*out);
        return -1;
    }
    return status == CLCNN_OK ? 0 : bench_fail("reading the kernel profile", status, ctx);
}

static json_t *kernel_json(const clcnn_profile_entry *entry, double total_ns) {
    return json_pack("{s:s, s:f, s:f, s:f, s:f, s:f}", "name", entry->name, "launches_per_step",
                     (double)entry->launches / PROFILE_STEPS, "ms_per_step",
                     (double)entry->total_ns / 1e6 / PROFILE_STEPS, "percent",
                     total_ns > 0.0 ? 100.0 * (double)entry->total_ns / total_ns : 0.0, "min_us",
                     (double)entry->min_ns / 1e3, "max_us", (double)entry->max_ns / 1e3);
}

/* The profile as JSON: figures per step and every kernel, longest first. */
static json_t *profile_json(const clcnn_profile *profile, double wall_ms, long counted) {
    clcnn_profile_totals totals;
    if (clcnn_profile_totals_get(profile, &totals) != CLCNN_OK)
        return NULL;
    double kernel_ms = (double)totals.total_ns / 1e6 / PROFILE_STEPS;
    double step_ms = wall_ms / PROFILE_STEPS;
    json_t *kernels = json_array();
    json_t *object =
        json_pack("{s:i, s:f, s:f, s:f, s:f, s:f, s:I, s:o}", "steps", PROFILE_STEPS,
                  "launches_per_step", (double)totals.launches / PROFILE_STEPS,
                  "kernel_ms_per_step", kernel_ms, "wall_ms_per_step", step_ms,
                  "no_kernel_ms_per_step", step_ms - kernel_ms, "device_busy_percent",
                  step_ms > 0.0 ? 100.0 * kernel_ms / step_ms : 0.0, "untimed_launches",
                  (json_int_t)(totals.launches - totals.timed_launches), "kernels", kernels);
    if (object == NULL)
        return NULL;
    /* Where the device's timestamps are implausible the library timed each
     * launch alone on the host: say which clock the kernel times are. */
    const char *clock = totals.clock == CLCNN_PROFILE_CLOCK_HOST ? "host" : "device";
    if (json_object_set_new(object, "clock", json_string(clock)) != 0 ||
        (counted >= 0 && json_object_set_new(object, "launches_counted_per_step",
                                             json_real((double)counted / PROFILE_STEPS)) != 0)) {
        json_decref(object);
        return NULL;
    }
    for (size_t i = 0; i < clcnn_profile_count(profile); i++) {
        clcnn_profile_entry entry;
        if (clcnn_profile_entry_get(profile, i, &entry) != CLCNN_OK ||
            json_array_append_new(kernels, kernel_json(&entry, (double)totals.total_ns)) != 0) {
            json_decref(object);
            return NULL;
        }
    }
    return object;
}

int bench_profile_region(const bench_region *region, bench_result *result) {
    clcnn_profile *profile = NULL;
    double wall_ms = 0.0;
    long counted = -1;
    if (profile_runs(region, &profile, &wall_ms, &counted) != 0)
        return -1;
    json_t *object = profile_json(profile, wall_ms, counted);
    clcnn_profile_destroy(profile);
    if (object == NULL)
        return bench_fail_message("building the profile", CLCNN_ERROR_OUT_OF_HOST_MEMORY, NULL);
    json_decref(result->profile);
    result->profile = object;
    return 0;
}

static double number_at(const json_t *object, const char *key) {
    return json_number_value(json_object_get(object, key));
}

void bench_profile_print(const json_t *profile) {
    printf("    profile (%d steps, %s clock): %.1f launches/step, kernels %.3f ms of %.3f ms wall "
           "per step (device busy %.0f%%, %.3f ms/step without a kernel)\n",
           (int)json_integer_value(json_object_get(profile, "steps")),
           json_string_value(json_object_get(profile, "clock")),
           number_at(profile, "launches_per_step"), number_at(profile, "kernel_ms_per_step"),
           number_at(profile, "wall_ms_per_step"), number_at(profile, "device_busy_percent"),
           number_at(profile, "no_kernel_ms_per_step"));
    const json_t *kernels = json_object_get(profile, "kernels");
    printf("      %-34s %13s %10s %9s\n", "kernel", "launches/step", "ms/step", "% kernels");
    double rest_ms = 0.0, rest_percent = 0.0;
    size_t rest = 0;
    for (size_t i = 0; i < json_array_size(kernels); i++) {
        const json_t *kernel = json_array_get(kernels, i);
        if (i >= TOP_KERNELS) {
            rest++;
            rest_ms += number_at(kernel, "ms_per_step");
            rest_percent += number_at(kernel, "percent");
            continue;
        }
        printf("      %-34s %13.1f %10.3f %9.1f\n",
               json_string_value(json_object_get(kernel, "name")),
               number_at(kernel, "launches_per_step"), number_at(kernel, "ms_per_step"),
               number_at(kernel, "percent"));
    }
    if (rest != 0)
        printf("      %-34s %13s %10.3f %9.1f\n", "(other kernels)", "", rest_ms, rest_percent);
    fflush(stdout);
}
