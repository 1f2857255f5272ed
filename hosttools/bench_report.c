/* clcnn-bench output: device descriptions and results, as readable text, as
 * one JSON document built with jansson, or as CSV (RFC 4180 quoting, one row
 * per device and benchmark). Each result with a throughput also gets its
 * fraction of the device's peak measured in the same run: gflops over
 * `peak_fma`, gbps over `copy`. Each device says which clock timed it: its
 * profiling timestamps, or the host's where those are implausible. */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "tool_json.h"

/* ------------------------------------------------------------ JSON helpers */

/* Collects failures so that a run of json_object_set_new calls is checked
 * once at the end. */
static void set_value(json_t *object, const char *key, json_t *value, int *failed) {
    if (json_object_set_new(object, key, value) != 0)
        *failed = 1;
}

/* Device strings come from drivers: keep them plain ASCII so that jansson,
 * which insists on UTF-8, never refuses them. */
static json_t *ascii_string(const char *text) {
    char clean[CLCNN_NAME_MAX];
    size_t i = 0;
    for (; text[i] != '\0' && i + 1 < sizeof clean; i++) {
        unsigned char c = (unsigned char)text[i];
        clean[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    clean[i] = '\0';
    return json_string(clean);
}

/* Integral figures (byte counts, cache hits) print as JSON integers. */
static json_t *number(double value) {
    if (value == floor(value) && fabs(value) < 9007199254740992.0)
        return json_integer((json_int_t)value);
    return json_real(value);
}

/* ----------------------------------------------------------------- devices */

static void format_bytes(uint64_t bytes, char *buffer, size_t size) {
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double value = (double)bytes;
    size_t unit = 0;
    while (value >= 1024.0 && unit + 1 < sizeof units / sizeof units[0]) {
        value /= 1024.0;
        unit++;
    }
    if (unit == 0)
        snprintf(buffer, size, "%" PRIu64 " B", bytes);
    else
        snprintf(buffer, size, "%.1f %s", value, units[unit]);
}

static void print_bytes_line(const char *label, uint64_t bytes) {
    char text[32];
    format_bytes(bytes, text, sizeof text);
    printf("  %-16s %s (%" PRIu64 " bytes)\n", label, text, bytes);
}

void bench_print_device_block(const clcnn_device_info *info) {
    printf("%zu:%zu  %s\n", info->platform_index, info->device_index, info->device_name);
    printf("  %-16s %s (%s)\n", "platform", info->platform_name, info->platform_version);
    printf("  %-16s %s\n", "type", clcnn_device_type_name(info->type));
    printf("  %-16s %s (vendor id 0x%04" PRIx32 ")\n", "vendor", info->vendor, info->vendor_id);
    printf("  %-16s %s\n", "driver version", info->driver_version);
    printf("  %-16s %s\n", "device version", info->device_version);
    printf("  %-16s %s\n", "OpenCL C", info->opencl_c_version);
    printf("  %-16s %" PRIu32 "\n", "compute units", info->compute_units);
    printf("  %-16s %" PRIu32 " MHz\n", "clock", info->clock_mhz);
    print_bytes_line("global memory", info->global_mem_bytes);
    print_bytes_line("max allocation", info->max_alloc_bytes);
    print_bytes_line("local memory", info->local_mem_bytes);
    printf("  %-16s %zu\n", "max work-group", info->max_work_group_size);
    printf("  %-16s %s\n", "fp64", info->has_fp64 ? "yes" : "no");
    printf("  %-16s %s\n", "fp16", info->has_fp16 ? "yes" : "no");
    printf("  %-16s %s%s\n", "usable", info->supported ? "yes" : "no, it ",
           info->unsupported_reason);
}

static void set_device_strings(json_t *o, const clcnn_device_info *info, int *failed) {
    set_value(o, "platform", ascii_string(info->platform_name), failed);
    set_value(o, "platform_version", ascii_string(info->platform_version), failed);
    set_value(o, "name", ascii_string(info->device_name), failed);
    set_value(o, "type", json_string(clcnn_device_type_name(info->type)), failed);
    set_value(o, "vendor", ascii_string(info->vendor), failed);
    set_value(o, "driver_version", ascii_string(info->driver_version), failed);
    set_value(o, "device_version", ascii_string(info->device_version), failed);
    set_value(o, "opencl_c_version", ascii_string(info->opencl_c_version), failed);
    set_value(o, "unsupported_reason", ascii_string(info->unsupported_reason), failed);
}

static void set_device_numbers(json_t *o, const clcnn_device_info *info, int *failed) {
    set_value(o, "platform_index", json_integer((json_int_t)info->platform_index), failed);
    set_value(o, "device_index", json_integer((json_int_t)info->device_index), failed);
    set_value(o, "vendor_id", json_integer((json_int_t)info->vendor_id), failed);
    set_value(o, "compute_units", json_integer((json_int_t)info->compute_units), failed);
    set_value(o, "clock_mhz", json_integer((json_int_t)info->clock_mhz), failed);
    set_value(o, "global_mem_bytes", json_integer((json_int_t)info->global_mem_bytes), failed);
    set_value(o, "max_alloc_bytes", json_integer((json_int_t)info->max_alloc_bytes), failed);
    set_value(o, "local_mem_bytes", json_integer((json_int_t)info->local_mem_bytes), failed);
    set_value(o, "max_work_group_size", json_integer((json_int_t)info->max_work_group_size),
              failed);
    set_value(o, "fp64", json_boolean(info->has_fp64), failed);
    set_value(o, "fp16", json_boolean(info->has_fp16), failed);
    set_value(o, "supported", json_boolean(info->supported), failed);
}

json_t *bench_device_json(const clcnn_device_info *info) {
    json_t *object = json_object();
    if (object == NULL)
        return NULL;
    char id[48];
    snprintf(id, sizeof id, "%zu:%zu", info->platform_index, info->device_index);
    int failed = 0;
    set_value(object, "id", json_string(id), &failed);
    set_device_strings(object, info, &failed);
    set_device_numbers(object, info, &failed);
    if (failed) {
        json_decref(object);
        return NULL;
    }
    return object;
}

int bench_print_json(json_t *document) {
    int result = tool_json_print(stdout, document, JSON_INDENT(2));
    json_decref(document);
    return result;
}

/* What timed a device's benchmarks (JSON "timestamps", the CSV column). */
static const char *timestamps_text(int device_timestamps) {
    return device_timestamps ? "device" : "host (device timestamps implausible)";
}

/* ------------------------------------------------------------- peak share */

/* A result's fraction of the device's peak in this run; peak NULL: none
 * (no throughput, or that peak was not measured before it). */
typedef struct peak_share {
    const char *peak; /* the benchmark it is measured against */
    const char *meaning;
    double fraction;
} peak_share;

static peak_share peak_share_of(const bench_report *report, const bench_result *result) {
    peak_share share = {NULL, NULL, 0.0};
    if (strcmp(result->unit, "gflops") == 0 && report->peak_gflops > 0.0) {
        share.peak = "peak_fma";
        share.meaning = "gflops / peak_fma gflops of this device in this run";
        share.fraction = result->value / report->peak_gflops;
    } else if (strcmp(result->unit, "gbps") == 0 && report->copy_gbps > 0.0) {
        share.peak = "copy";
        share.meaning = "gbps / copy gbps of this device in this run";
        share.fraction = result->value / report->copy_gbps;
    }
    return share;
}

/* -------------------------------------------------------------------- CSV */

/* ref_value is in the row's unit; speedup_vs_ref is reference time /
 * libclcnn time (above 1: faster); timestamps: "device", or "host (...)"
 * when the device's were implausible and the host's clock timed every row. */
#define CSV_COLUMNS                                                                    \
    "device_id,device,device_type,platform,benchmark,ms,value,unit,samples,ref_value," \
    "speedup_vs_ref,fraction_of_peak,peak,timestamps,extras"

static int csv_header(void) {
    printf("%s\n", CSV_COLUMNS);
    fflush(stdout);
    return 0;
}

/* One field, quoted as RFC 4180 says when it holds a comma, a quote, a line
 * break or an outer space; control bytes and non-ASCII become '?' (device
 * strings come from drivers). `first`: no comma before it. */
static void csv_text(const char *text, int first) {
    size_t length = strlen(text);
    int quote = strpbrk(text, ",\"\r\n") != NULL ||
                (length > 0 && (text[0] == ' ' || text[length - 1] == ' '));
    if (!first)
        putchar(',');
    if (quote)
        putchar('"');
    for (const char *c = text; *c != '\0'; c++) {
        unsigned char byte = (unsigned char)*c;
        if (byte == '"')
            fputs("\"\"", stdout);
        else if (byte == '\r' || byte == '\n' || (byte >= 0x20 && byte < 0x7f))
            putchar((char)byte);
        else
            putchar('?');
    }
    if (quote)
        putchar('"');
}

/* A number, or an empty field when `present` is 0. */
static void csv_number(double value, int present) {
    if (present)
        printf(",%.6g", value);
    else
        putchar(',');
}

/* The extras as "key=value;key=value" (one field). */
static void csv_extras(const bench_result *result) {
    char text[4096] = "";
    size_t used = 0;
    for (size_t i = 0; i < result->extra_count && used < sizeof text; i++) {
        const bench_extra *extra = &result->extras[i];
        const char *separator = i == 0 ? "" : ";";
        int written;
        if (extra->text != NULL)
            written = snprintf(text + used, sizeof text - used, "%s%s=%s", separator, extra->key,
                               extra->text);
        else if (extra->is_flag)
            written = snprintf(text + used, sizeof text - used, "%s%s=%s", separator, extra->key,
                               extra->value != 0.0 ? "true" : "false");
        else
            written = snprintf(text + used, sizeof text - used, "%s%s=%.6g", separator, extra->key,
                               extra->value);
        if (written < 0)
            break;
        used += (size_t)written;
    }
    csv_text(text, 0);
}

static int csv_row(const clcnn_device_info *info, int device_timestamps, const bench_result *result,
                   const peak_share *share) {
    char id[48];
    snprintf(id, sizeof id, "%zu:%zu", info->platform_index, info->device_index);
    const bench_reference *ref = &result->reference;
    int has_ref = ref->source != NULL;
    csv_text(id, 1);
    csv_text(info->device_name, 0);
    csv_text(clcnn_device_type_name(info->type), 0);
    csv_text(info->platform_name, 0);
    csv_text(result->name, 0);
    csv_number(result->ms, 1);
    csv_number(result->value, 1);
    csv_text(result->unit, 0);
    csv_number((double)result->samples, 1);
    csv_number(ref->row_value, has_ref);
    csv_number(ref->speedup, has_ref);
    csv_number(share->fraction, share->peak != NULL);
    csv_text(share->peak != NULL ? share->peak : "", 0);
    csv_text(timestamps_text(device_timestamps), 0);
    csv_extras(result);
    putchar('\n');
    fflush(stdout);
    return ferror(stdout) ? bench_fail_message("writing CSV", CLCNN_ERROR_IO, NULL) : 0;
}

/* ----------------------------------------------------------------- results */

static int json_failure(void) {
    return bench_fail_message("building JSON", CLCNN_ERROR_OUT_OF_HOST_MEMORY, NULL);
}

int bench_report_init(bench_report *report, int format, int repeats) {
    memset(report, 0, sizeof *report);
    report->format = format;
    if (format == BENCH_FORMAT_CSV)
        return csv_header();
    if (format != BENCH_FORMAT_JSON)
        return 0;
    report->root = json_object();
    if (report->root == NULL)
        return json_failure();
    json_t *devices = json_array(); /* every _set_new below takes its value over */
    int failed = 0;
    set_value(report->root, "library", json_string("libclcnn"), &failed);
    set_value(report->root, "version", json_string(clcnn_version()), &failed);
    set_value(report->root, "repeats", json_integer(repeats), &failed);
    set_value(report->root, "devices", devices, &failed);
    if (failed) {
        bench_report_free(report);
        return json_failure();
    }
    report->devices = devices;
    return 0;
}

static int json_device(bench_report *report, const clcnn_device_info *info) {
    report->results = NULL;
    json_t *entry = json_object();
    if (entry == NULL)
        return json_failure();
    json_t *results = json_array();
    int failed = 0;
    set_value(entry, "device", bench_device_json(info), &failed);
    set_value(entry, "timestamps", json_string(timestamps_text(report->device_timestamps)),
              &failed);
    set_value(entry, "results", results, &failed);
    if (json_array_append_new(report->devices, entry) != 0 || failed)
        return json_failure();
    report->results = results;
    return 0;
}

int bench_report_device(bench_report *report, const clcnn_device_info *info,
                        int device_timestamps) {
    report->device = *info;
    report->device_timestamps = device_timestamps;
    report->peak_gflops = 0.0;
    report->copy_gbps = 0.0;
    if (report->format == BENCH_FORMAT_CSV)
        return 0;
    if (report->format == BENCH_FORMAT_JSON)
        return json_device(report, info);
    printf("\n== %zu:%zu %s (%s, %s) ==\n", info->platform_index, info->device_index,
           info->device_name, info->platform_name, clcnn_device_type_name(info->type));
    const char *source = bench_reference_source(info);
    if (source != NULL)
        printf("  ref: %s\n"
               "  (not measured in this run: hosttools/pytorch/compare.py compares live),\n"
               "  in each row's unit. speedup: ref time / libclcnn time (above 1: faster).\n",
               source);
    printf("  of_peak: gflops / peak_fma gflops, gbps / copy gbps (this run, this device).\n");
    if (device_timestamps)
        printf("  timing: device profiling timestamps (device_timed=yes), host wall time\n"
               "  where a sample's device time is unusable (device_timed=no).\n");
    else
        printf("  timing: HOST wall time for every benchmark: this device's profiling\n"
               "  timestamps are implausible (clcnn_context_check_timestamps).\n");
    printf("  %-22s %12s %12s  %-6s %8s  %7s  %s\n", "name", "median", "ref", "unit", "speedup",
           "of_peak", "extra");
    fflush(stdout);
    return 0;
}

static void print_extra(const bench_extra *extra) {
    if (extra->text != NULL)
        printf(" %s=\"%s\"", extra->key, extra->text);
    else if (extra->is_flag)
        printf(" %s=%s", extra->key, extra->value != 0.0 ? "yes" : "no");
    else
        printf(" %s=%.4g", extra->key, extra->value);
}

/* name, median, ref (in the row's unit), unit, speedup. */
static void print_figures(const bench_result *result) {
    const bench_reference *ref = &result->reference;
    printf("  %-22s %12.3f", result->name, result->value);
    if (ref->source != NULL)
        printf(" %12.4g  %-6s %8.3f ", ref->row_value, result->unit, ref->speedup);
    else
        printf(" %12s  %-6s %8s ", "-", result->unit, "-");
}

static void print_result(const bench_result *result, const peak_share *share) {
    print_figures(result);
    if (share->peak != NULL)
        printf(" %7.3f ", share->fraction);
    else
        printf(" %7s ", "-");
    if (strcmp(result->unit, "ms") != 0 && strcmp(result->unit, "us") != 0)
        printf(" ms=%.4g", result->ms);
    for (size_t i = 0; i < result->extra_count; i++)
        print_extra(&result->extras[i]);
    printf(" samples=%zu\n", result->samples);
    fflush(stdout);
    if (result->profile != NULL)
        bench_profile_print(result->profile);
}

/* ref_ms or ref_gflops (the figure as published), speedup_vs_ref and
 * what it means. */
static void set_reference(json_t *object, const bench_reference *ref, int *failed) {
    if (ref->source == NULL)
        return;
    int time = strcmp(ref->unit, "ms") == 0;
    set_value(object, time ? "ref_ms" : "ref_gflops", json_real(ref->value), failed);
    set_value(object, "speedup_vs_ref", json_real(ref->speedup), failed);
    set_value(object, "speedup_vs_ref_is",
              json_string("ref time / libclcnn time (above 1: libclcnn is faster)"), failed);
    set_value(object, "ref_source", json_string(ref->source), failed);
}

static void set_peak_share(json_t *object, const peak_share *share, int *failed) {
    if (share->peak == NULL)
        return;
    set_value(object, "fraction_of_peak", json_real(share->fraction), failed);
    set_value(object, "fraction_of_peak_is", json_string(share->meaning), failed);
}

static json_t *result_json(const bench_result *result, const peak_share *share) {
    json_t *object = json_object();
    if (object == NULL)
        return NULL;
    int failed = 0;
    set_value(object, "name", json_string(result->name), &failed);
    set_value(object, "ms", json_real(result->ms), &failed);
    if (strcmp(result->unit, "ms") != 0)
        set_value(object, result->unit, json_real(result->value), &failed);
    set_value(object, "samples", json_integer((json_int_t)result->samples), &failed);
    for (size_t i = 0; i < result->extra_count; i++) {
        const bench_extra *extra = &result->extras[i];
        json_t *value = extra->text != NULL ? json_string(extra->text)
                        : extra->is_flag    ? json_boolean(extra->value != 0.0)
                                            : number(extra->value);
        set_value(object, extra->key, value, &failed);
    }
    set_reference(object, &result->reference, &failed);
    set_peak_share(object, share, &failed);
    if (result->profile != NULL)
        set_value(object, "profile", json_incref(result->profile), &failed);
    if (failed) {
        json_decref(object);
        return NULL;
    }
    return object;
}

int bench_report_result(bench_report *report, const bench_result *result) {
    peak_share share = peak_share_of(report, result);
    if (report->format == BENCH_FORMAT_CSV)
        return csv_row(&report->device, report->device_timestamps, result, &share);
    if (report->format != BENCH_FORMAT_JSON) {
        print_result(result, &share);
        return 0;
    }
    if (report->results == NULL ||
        json_array_append_new(report->results, result_json(result, &share)) != 0)
        return json_failure();
    return 0;
}

int bench_report_finish(bench_report *report) {
    if (report->format != BENCH_FORMAT_JSON)
        return 0;
    json_t *root = report->root;
    report->root = NULL;
    report->devices = NULL;
    report->results = NULL;
    if (bench_print_json(root) != 0)
        return bench_fail_message("writing JSON", CLCNN_ERROR_IO, NULL);
    return 0;
}

void bench_report_free(bench_report *report) {
    json_decref(report->root);
    report->root = NULL;
    report->devices = NULL;
    report->results = NULL;
}
