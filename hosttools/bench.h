/* clcnn-bench internals shared by its files: results, output, the suite and
 * small helpers (timing, medians, filters, errors, temporary folders). */
#ifndef CLCNN_BENCH_H
#define CLCNN_BENCH_H

#include <jansson.h>
#include <stddef.h>

#include "clcnn.h"

/* ------------------------------------------------------------------ results */

#define BENCH_MAX_EXTRAS 16

typedef struct bench_extra {
    const char *key;
    double value;
    int is_flag;      /* printed as yes/no, true/false */
    const char *text; /* non-NULL: a string (static storage), not a number */
} bench_extra;

/* A published figure to compare a result with (bench_reference.c). */
typedef struct bench_reference {
    const char *source; /* who measured it and where; NULL: no reference */
    const char *unit;   /* "ms" (a time) or "gflops" (a throughput) */
    double value;       /* in `unit` */
    double row_value;   /* the same figure in the result's unit */
    /* Always one direction: reference time / libclcnn time (for a
     * throughput, libclcnn gflops / reference gflops); above 1 libclcnn is
     * faster. */
    double speedup;
} bench_reference;

/* One measured benchmark. `ms` is always the median time; the headline
 * figure is `value` in `unit` ("us", "gbps", "gflops" or "ms"). */
typedef struct bench_result {
    const char *name;
    double ms;
    const char *unit;
    double value;
    size_t samples;
    bench_extra extras[BENCH_MAX_EXTRAS];
    size_t extra_count;
    bench_reference reference;
    /* --profile (bench_profile.c): the kernel profile, owned (bench_run.c
     * releases it after the report): printed under the result's line, or
     * "profile" in its JSON. NULL: none. */
    json_t *profile;
} bench_result;

void bench_result_init(bench_result *result, const char *name, const char *unit);
void bench_result_extra(bench_result *result, const char *key, double value);
void bench_result_flag(bench_result *result, const char *key, int value);
/* `text` must outlive the report of the result (a literal, say). */
void bench_result_text(bench_result *result, const char *key, const char *text);

/* ------------------------------------------------------------------- output */

/* Output formats of bench_report_init. */
#define BENCH_FORMAT_TABLE 0
#define BENCH_FORMAT_JSON 1
#define BENCH_FORMAT_CSV 2

/* Prints results as they come (table, CSV rows) or gathers one JSON
 * document that bench_report_finish prints. */
typedef struct bench_report {
    int format; /* BENCH_FORMAT_* */
    json_t *root;
    json_t *devices; /* borrowed from root */
    json_t *results; /* borrowed: results of the current device */
    /* The current device (CSV rows name it). */
    clcnn_device_info device;
    /* The current device's peaks once measured in this run, else 0: every
     * later gflops result gets fraction_of_peak against peak_gflops
     * (`peak_fma`), every gbps one against copy_gbps (`copy`). */
    double peak_gflops;
    double copy_gbps;
    /* Whether the current device's profiling timestamps were plausible
     * (clcnn_context_check_timestamps): 0 means every figure of the device
     * is host wall time, and the output says so. */
    int device_timestamps;
} bench_report;

int bench_report_init(bench_report *report, int format, int repeats);
/* Starts a device's results; device_timestamps as in bench_report. */
int bench_report_device(bench_report *report, const clcnn_device_info *info, int device_timestamps);
int bench_report_result(bench_report *report, const bench_result *result);
int bench_report_finish(bench_report *report);
void bench_report_free(bench_report *report);

/* --list output: one readable block per device, or the device as JSON
 * (NULL when out of memory). */
void bench_print_device_block(const clcnn_device_info *info);
json_t *bench_device_json(const clcnn_device_info *info);
/* Prints a JSON document to stdout and releases it; 0 on success. */
int bench_print_json(json_t *document);

/* -------------------------------------------------------------------- suite */

typedef struct bench_run {
    const char *device_spec; /* clcnn_context_options.device (NULL: default) */
    const clcnn_device_info *info;
    const char *temp_root; /* private folder for cache directories */
    const char *filter;    /* NULL: every benchmark */
    size_t repeats;
    size_t batch; /* batch size of the network benchmarks */
    bench_report *report;
    int profile; /* --profile: the net_* benchmarks also run with a kernel profile */
} bench_run;

/* Every benchmark name, in the order they run. */
size_t bench_name_count(void);
const char *bench_name_at(size_t index);

/* Runs the selected benchmarks on one device; 0, or -1 after printing the
 * error. */
int bench_run_device(const bench_run *run);

/* --tune (bench_tune.c): tunes the suite's and the seed network's conv
 * shapes, GEMMs and element-wise kernels on one device (NULL: the default), prints the outcome (a
 * table, or JSON) and saves the table in the default program cache directory; 0, or -1 after
 * printing the error. */
int bench_tune(const char *device_spec, size_t batch, size_t repeats, int json);
/* Loads the table saved by --tune into a benchmark context (missing: the
 * built-in choices). */
void bench_tuning_apply(clcnn_context *ctx);

/* What the device benchmarks of one device share: launch latency runs on a
 * plain queue (as applications use it), device times on a profiling one. */
typedef struct bench_session {
    const bench_run *run;
    clcnn_context *plain;
    clcnn_context *profiled;
    /* The device's profiling timestamps are plausible: 0 makes every
     * benchmark time on the host (rusticl reports every command as taking
     * 1 ns). */
    int device_timestamps;
    double *samples;  /* run->repeats each: the measured figure */
    double *wall;     /* host wall time, or the second figure of a benchmark */
    double copy_gbps; /* the `copy` figure once measured in this run, else 0 */
    char *cache_dir;  /* program disk cache of bench_own_context, made on first use */
} bench_session;

/* The session's plain or profiling context, made on first use. */
int bench_session_context(bench_session *s, int profiling, clcnn_context **out);
/* A new profiling context of its own (fresh memory statistics) on the
 * session's device, with a program disk cache shared by such contexts in
 * this run; the caller destroys it. */
int bench_own_context(bench_session *s, clcnn_context **out);
/* The device's `copy` bandwidth in this run: the reported figure, or a
 * measurement made now (unreported) when `copy` was not selected. */
int bench_session_copy_gbps(bench_session *s, double *out);

/* A device benchmark: fills *result; 0, or -1 after printing the error.
 * `param` is the entry's (a shape, say). */
typedef struct bench_entry bench_entry;
typedef int (*bench_entry_fn)(bench_session *s, const bench_entry *entry, bench_result *result);
struct bench_entry {
    const char *name;
    bench_entry_fn run;
    const void *param;
};

/* The start-up benchmarks, run first, and the basic device benchmarks
 * (bench_suite.c); the operator benchmarks (bench_ops.c) and the network
 * ones (bench_net.c). bench_run_startup measures the selected start-up
 * benchmarks into results[0 .. *count - 1] (at most
 * bench_startup_name_count), unreported. */
#define BENCH_STARTUP_MAX 2
extern const char *const bench_startup_names[];
extern const size_t bench_startup_name_count;
int bench_run_startup(const bench_run *run, double *samples, bench_result *results, size_t *count);
/* `peak_fma` (bench_peak.c): the best FMA throughput of cl/peak.cl's
 * kernels, in the basic entries after `copy`. */
int bench_peak_fma(bench_session *s, const bench_entry *entry, bench_result *result);
extern const bench_entry bench_basic_entries[];
extern const size_t bench_basic_entry_count;
extern const bench_entry bench_op_entries[];
extern const size_t bench_op_entry_count;
extern const bench_entry bench_net_entries[];
extern const size_t bench_net_entry_count;
/* `allreduce_seed`, `allreduce_resnet8` (bench_allreduce.c): gradient
 * averaging across the ranks of an MPI job. */
extern const bench_entry bench_allreduce_entries[];
extern const size_t bench_allreduce_entry_count;

/* Under an MPI launcher (and built with MPI), starts MPI and silences the
 * output of every rank but 0; otherwise nothing. 0, or -1 after a message.
 * bench_mpi_end finalises (after a failure: MPI_Abort, so that no rank
 * waits for this one). */
int bench_mpi_start(int *argc, char ***argv);
void bench_mpi_end(int failed);

/* ------------------------------------------------------------ timed regions */

/* Enqueues one run of the measured work on the region's context. */
typedef int (*bench_region_fn)(void *state);

typedef struct bench_region {
    const char *name; /* benchmark name, for messages */
    clcnn_context *ctx;
    bench_region_fn run;
    void *state;
} bench_region;

typedef struct bench_timing {
    double ms;      /* median: device time when device_timed, else wall */
    double wall_ms; /* median host wall time, queue drained before and after */
    size_t samples;
    int device_timed; /* ms comes from profiling markers */
    long launches;    /* kernel launches libclcnn made in one run; -1: not counted */
} bench_timing;

/* Warm-up runs, then samples (bench_sample_count of s->run->repeats), each
 * with clcnn_context_finish before and after it; with profiling, markers
 * around the run give its device time. */
int bench_time_region(bench_session *s, const bench_region *region, bench_timing *out);
/* Starts *result from a timing: ms, samples and the extras every timed
 * region reports (wall_ms, launches). */
void bench_result_from_timing(bench_result *result, const char *name, const char *unit,
                              const bench_timing *timing);
/* Kernel launches libclcnn has made so far on ctx (-1 when it will not
 * say). */
long bench_launch_count(const clcnn_context *ctx);

/* --profile (bench_profile.c): a few more runs of the region (its context
 * made with profiling) under the library's kernel profile, kept in
 * result->profile; 0, or -1 after printing the error. */
int bench_profile_region(const bench_region *region, bench_result *result);
/* The table of a result's profile, under the result's line. */
void bench_profile_print(const json_t *profile);

/* -------------------------------------------------------------- references */

/* Sets result->reference to docs/benchmarks.md's figure for this device
 * kind and benchmark, when there is one (batch: the network batch size;
 * figures are for 128). */
void bench_reference_attach(bench_result *result, const clcnn_device_info *info, size_t batch);
/* The reference set this device is compared with, for headers; NULL: none. */
const char *bench_reference_source(const clcnn_device_info *info);

/* ------------------------------------------------------------------ helpers */

/* CLOCK_MONOTONIC in milliseconds. */
double bench_now_ms(void);
/* Whether a device time can stand for a sample the host timed at wall_ms
 * (the queue idle before and after): not zero, not longer than the host
 * waited, and not below 1% of a wall time over 1 ms, which no enqueue
 * overhead explains. A benchmark with one unusable sample times on the
 * host. */
int bench_device_time_usable(double device_ms, double wall_ms);
/* Median of values[0..count-1] (count > 0); sorts the array. */
double bench_median(double *values, size_t count);
/* How many samples to take when one run takes about run_ms: `repeats`, cut
 * down (to at least 3) so that sampling stays within a few seconds. */
size_t bench_sample_count(size_t repeats, double run_ms);

/* Comma-separated patterns, each a substring or an fnmatch glob (when it
 * holds * ? or [). NULL or "" selects everything. */
int bench_selected(const char *filter, const char *name);

/* Prints "clcnn-bench: <what>: <status name>: <message>" and returns -1. */
int bench_fail_message(const char *what, clcnn_status status, const char *message);
/* Same, with the context's last error as the message. */
int bench_fail(const char *what, clcnn_status status, const clcnn_context *ctx);

/* Makes a new folder "<parent>/<prefix>XXXXXX"; malloc'ed path or NULL. */
char *bench_make_temp_dir(const char *parent, const char *prefix);
/* Deletes a folder and everything in it (no links are followed). */
int bench_remove_tree(const char *path);

#endif
