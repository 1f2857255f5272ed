/* clcnn-bench internals shared by its files: results, output, the suite and
 * small helpers (timing, medians, filters, errors, temporary folders). */
#ifndef CLCNN_BENCH_H
#define CLCNN_BENCH_H

#include <jansson.h>
#include <stddef.h>

#include "clcnn.h"

/* ------------------------------------------------------------------ results */

#define BENCH_MAX_EXTRAS 6

typedef struct bench_extra {
    const char *key;
    double value;
    int is_flag; /* printed as yes/no, true/false */
} bench_extra;

/* One measured benchmark. `ms` is always the median time; the headline
 * figure is `value` in `unit` ("us", "gbps" or "ms"). */
typedef struct bench_result {
    const char *name;
    double ms;
    const char *unit;
    double value;
    size_t samples;
    bench_extra extras[BENCH_MAX_EXTRAS];
    size_t extra_count;
} bench_result;

void bench_result_init(bench_result *result, const char *name, const char *unit);
void bench_result_extra(bench_result *result, const char *key, double value);
void bench_result_flag(bench_result *result, const char *key, int value);

/* ------------------------------------------------------------------- output */

/* Prints results as they come (table) or gathers one JSON document that
 * bench_report_finish prints. */
typedef struct bench_report {
    int json;
    json_t *root;
    json_t *devices; /* borrowed from root */
    json_t *results; /* borrowed: results of the current device */
} bench_report;

int bench_report_init(bench_report *report, int json, int repeats);
int bench_report_device(bench_report *report, const clcnn_device_info *info);
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
    bench_report *report;
} bench_run;

/* Every benchmark name, in the order they run. */
extern const char *const bench_names[];
extern const size_t bench_name_count;

/* Runs the selected benchmarks on one device; 0, or -1 after printing the
 * error. */
int bench_run_device(const bench_run *run);

/* ------------------------------------------------------------------ helpers */

/* CLOCK_MONOTONIC in milliseconds. */
double bench_now_ms(void);
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
