/* clcnn-bench's driver: the benchmark names in the order they run, the
 * contexts the benchmarks of one device share, and the run over the
 * selected benchmarks of one device (bench_suite.c, bench_ops.c,
 * bench_net.c, bench_allreduce.c). */
#define _POSIX_C_SOURCE 200809L

#include <stdlib.h>

#include "bench.h"
#include "clcnn/profile.h"

/* ---------------------------------------------------------------- sessions */

static int create_context(bench_session *s, int profiling, const char *cache_dir,
                          clcnn_context **out) {
    char error[2048] = "";
    clcnn_context_options options = clcnn_context_options_default();
    options.device = s->run->device_spec;
    options.enable_profiling = profiling;
    options.disk_cache = cache_dir != NULL ? CLCNN_CACHE_ON : CLCNN_CACHE_OFF;
    options.cache_dir = cache_dir;
    options.error_buffer = error;
    options.error_buffer_size = sizeof error;
    clcnn_status status = clcnn_context_create(&options, out);
    if (status == CLCNN_OK)
        bench_tuning_apply(*out); /* what --tune saved, as other programs would find it */
    return status == CLCNN_OK ? 0 : bench_fail_message("creating a context", status, error);
}

int bench_session_context(bench_session *s, int profiling, clcnn_context **out) {
    clcnn_context **slot = profiling ? &s->profiled : &s->plain;
    if (*slot == NULL && create_context(s, profiling, NULL, slot) != 0)
        return -1;
    *out = *slot;
    return 0;
}

int bench_own_context(bench_session *s, clcnn_context **out) {
    if (s->cache_dir == NULL) {
        s->cache_dir = bench_make_temp_dir(s->run->temp_root, "programs-");
        if (s->cache_dir == NULL)
            return bench_fail_message("making a cache directory", CLCNN_ERROR_IO,
                                      s->run->temp_root);
    }
    return create_context(s, 1, s->cache_dir, out);
}

/* ------------------------------------------------------------------- suite */

/* The device benchmarks in the order they run: `copy` comes before the
 * benchmarks that compare their bandwidth with it. */
static const struct {
    const bench_entry *entries;
    const size_t *count;
} entry_tables[] = {{bench_basic_entries, &bench_basic_entry_count},
                    {bench_op_entries, &bench_op_entry_count},
                    {bench_net_entries, &bench_net_entry_count},
                    {bench_allreduce_entries, &bench_allreduce_entry_count}};

#define TABLE_COUNT (sizeof entry_tables / sizeof entry_tables[0])

static size_t table_size(size_t table) {
    return *entry_tables[table].count;
}

size_t bench_name_count(void) {
    size_t count = bench_startup_name_count;
    for (size_t t = 0; t < TABLE_COUNT; t++)
        count += table_size(t);
    return count;
}

const char *bench_name_at(size_t index) {
    if (index < bench_startup_name_count)
        return bench_startup_names[index];
    index -= bench_startup_name_count;
    for (size_t t = 0; t < TABLE_COUNT; t++) {
        if (index < table_size(t))
            return entry_tables[t].entries[index].name;
        index -= table_size(t);
    }
    return NULL;
}

static int run_device_benchmarks(bench_session *s) {
    for (size_t t = 0; t < TABLE_COUNT; t++) {
        for (size_t i = 0; i < table_size(t); i++) {
            const bench_entry *entry = &entry_tables[t].entries[i];
            if (!bench_selected(s->run->filter, entry->name))
                continue;
            bench_result result;
            if (entry->run(s, entry, &result) != 0)
                return -1;
            bench_reference_attach(&result, s->run->info, s->run->batch);
            int reported = bench_report_result(s->run->report, &result);
            json_decref(result.profile);
            if (reported != 0)
                return -1;
        }
    }
    return 0;
}

/* Whether the device's profiling timestamps can be believed, asked of the
 * session's profiling context. */
static int check_timestamps(bench_session *s) {
    clcnn_context *ctx = NULL;
    if (bench_session_context(s, 1, &ctx) != 0)
        return -1;
    clcnn_status status = clcnn_context_check_timestamps(ctx, &s->device_timestamps);
    return status == CLCNN_OK ? 0 : bench_fail("checking the device's timestamps", status, ctx);
}

/* Start-up first, while the drivers' caches are cold (the timestamp check
 * compiles a kernel), then the check, which the device's header reports,
 * then everything else. */
static int run_session(bench_session *s) {
    const bench_run *run = s->run;
    bench_result startup[BENCH_STARTUP_MAX];
    size_t startup_count = 0;
    if (bench_run_startup(run, s->samples, startup, &startup_count) != 0 ||
        check_timestamps(s) != 0 ||
        bench_report_device(run->report, run->info, s->device_timestamps) != 0)
        return -1;
    for (size_t i = 0; i < startup_count; i++)
        if (bench_report_result(run->report, &startup[i]) != 0)
            return -1;
    return run_device_benchmarks(s);
}

int bench_run_device(const bench_run *run) {
    bench_session s = {run, NULL, NULL, 1, NULL, NULL, 0.0, NULL};
    s.samples = calloc(run->repeats, sizeof *s.samples);
    s.wall = calloc(run->repeats, sizeof *s.wall);
    int result = -1;
    if (s.samples == NULL || s.wall == NULL)
        bench_fail_message("allocating samples", CLCNN_ERROR_OUT_OF_HOST_MEMORY, NULL);
    else
        result = run_session(&s);
    clcnn_context_destroy(s.plain);
    clcnn_context_destroy(s.profiled);
    free(s.samples);
    free(s.wall);
    if (s.cache_dir != NULL)
        bench_remove_tree(s.cache_dir);
    free(s.cache_dir);
    return result;
}
