/* clcnn-bench helpers: results, timing, medians, benchmark filters, error
 * messages and temporary folders. */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

/* Sampling a benchmark stops after about this long, once 3 samples exist. */
#define SAMPLE_BUDGET_MS 3000.0
#define MIN_SAMPLES 3

void bench_result_init(bench_result *result, const char *name, const char *unit) {
    memset(result, 0, sizeof *result);
    result->name = name;
    result->unit = unit;
}

static void add_extra(bench_result *result, const char *key, double value, int is_flag,
                      const char *text) {
    if (result->extra_count == BENCH_MAX_EXTRAS)
        return;
    bench_extra *extra = &result->extras[result->extra_count++];
    extra->key = key;
    extra->value = value;
    extra->is_flag = is_flag;
    extra->text = text;
}

void bench_result_extra(bench_result *result, const char *key, double value) {
    add_extra(result, key, value, 0, NULL);
}

void bench_result_flag(bench_result *result, const char *key, int value) {
    add_extra(result, key, value ? 1.0 : 0.0, 1, NULL);
}

void bench_result_text(bench_result *result, const char *key, const char *text) {
    add_extra(result, key, 0.0, 0, text);
}

double bench_now_ms(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec * 1e3 + (double)now.tv_nsec / 1e6;
}

/* Clocks read at different moments, by different parties: a device time
 * may exceed the host's by this much. */
#define CLOCK_SLACK_MS 1.0
/* A sample this long is mostly the device's work, not the enqueue. */
#define LONG_SAMPLE_MS 1.0
#define MIN_DEVICE_SHARE 0.01

int bench_device_time_usable(double device_ms, double wall_ms) {
    if (!(device_ms > 0.0) || device_ms > wall_ms + CLOCK_SLACK_MS)
        return 0;
    return wall_ms <= LONG_SAMPLE_MS || device_ms >= MIN_DEVICE_SHARE * wall_ms;
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a;
    double y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_median(double *values, size_t count) {
    qsort(values, count, sizeof *values, compare_doubles);
    if (count % 2 == 1)
        return values[count / 2];
    return (values[count / 2 - 1] + values[count / 2]) / 2.0;
}

size_t bench_sample_count(size_t repeats, double run_ms) {
    if (run_ms <= 0.0 || (double)repeats * run_ms <= SAMPLE_BUDGET_MS)
        return repeats;
    size_t affordable = (size_t)(SAMPLE_BUDGET_MS / run_ms);
    if (affordable < MIN_SAMPLES)
        affordable = MIN_SAMPLES;
    return affordable < repeats ? affordable : repeats;
}

static int pattern_matches(const char *pattern, size_t length, const char *name) {
    char buffer[128];
    if (length == 0 || length >= sizeof buffer)
        return 0;
    memcpy(buffer, pattern, length);
    buffer[length] = '\0';
    if (strpbrk(buffer, "*?[") != NULL)
        return fnmatch(buffer, name, 0) == 0;
    return strstr(name, buffer) != NULL;
}

int bench_selected(const char *filter, const char *name) {
    if (filter == NULL || filter[0] == '\0')
        return 1;
    const char *pattern = filter;
    for (;;) {
        size_t length = strcspn(pattern, ",");
        if (pattern_matches(pattern, length, name))
            return 1;
        if (pattern[length] == '\0')
            return 0;
        pattern += length + 1;
    }
}

int bench_fail_message(const char *what, clcnn_status status, const char *message) {
    fflush(stdout);
    fprintf(stderr, "clcnn-bench: %s: %s: %s\n", what, clcnn_status_name(status),
            message != NULL && message[0] != '\0' ? message : clcnn_status_string(status));
    return -1;
}

int bench_fail(const char *what, clcnn_status status, const clcnn_context *ctx) {
    return bench_fail_message(what, status, clcnn_context_last_error(ctx));
}

static char *join_path(const char *parent, const char *name) {
    size_t size = strlen(parent) + strlen(name) + 2;
    char *path = malloc(size);
    if (path != NULL)
        snprintf(path, size, "%s/%s", parent, name);
    return path;
}

char *bench_make_temp_dir(const char *parent, const char *prefix) {
    char name[64];
    snprintf(name, sizeof name, "%sXXXXXX", prefix);
    char *path = join_path(parent, name);
    if (path != NULL && mkdtemp(path) == NULL) {
        free(path);
        path = NULL;
    }
    return path;
}

static int remove_children(const char *path) {
    DIR *dir = opendir(path);
    if (dir == NULL)
        return -1;
    int result = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
            continue;
        char *child = join_path(path, entry->d_name);
        if (child == NULL || bench_remove_tree(child) != 0)
            result = -1;
        free(child);
    }
    closedir(dir);
    return result;
}

int bench_remove_tree(const char *path) {
    struct stat info;
    if (lstat(path, &info) != 0)
        return -1;
    if (!S_ISDIR(info.st_mode))
        return unlink(path);
    int result = remove_children(path);
    return rmdir(path) == 0 ? result : -1;
}
