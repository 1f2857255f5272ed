/* clcnn-chart: reads one or more `clcnn-bench --json` documents and writes
 * an SVG 1.1 bar chart (no scripts, no external files) of libclcnn's speed
 * relative to the reference figures those documents carry: for each
 * benchmark with a reference, one bar per device, reference time / libclcnn
 * time on a log scale with a line at 1 (to the right: faster than the
 * reference). Inputs are validated: anything that is not such a document
 * gives a message and exit status 1, never a crash. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chart.h"
#include "tool_cli.h"

#define EXIT_USAGE TOOL_EXIT_USAGE
#define MIN_RATIO 1e-9 /* speed ratios outside these are taken as broken input */
#define MAX_RATIO 1e9

/* ---------------------------------------------------------------- errors */

/* Prints "clcnn-chart: <where>: <message>" and returns -1. */
static int input_error(const char *where, const char *format, ...) {
    va_list args;
    va_start(args, format);
    fprintf(stderr, "clcnn-chart: %s: ", where);
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
    va_end(args);
    return -1;
}

static void copy_text(char *dst, size_t size, const char *src) {
    snprintf(dst, size, "%s", src);
}

/* ---------------------------------------------------------------- inputs */

static int find_benchmark(chart *c, const char *name, const char *where, size_t *out) {
    for (size_t i = 0; i < c->benchmark_count; i++)
        if (strcmp(c->benchmarks[i], name) == 0) {
            *out = i;
            return 0;
        }
    if (strlen(name) >= NAME_MAX_CHARS)
        return input_error(where, "benchmark name longer than %d characters", NAME_MAX_CHARS - 1);
    if (c->benchmark_count == MAX_BENCHMARKS)
        return input_error(where, "more than %d benchmarks with a reference", MAX_BENCHMARKS);
    size_t index = c->benchmark_count++;
    copy_text(c->benchmarks[index], NAME_MAX_CHARS, name);
    for (size_t d = 0; d < MAX_DEVICES; d++)
        c->ratio[index][d] = NAN;
    *out = index;
    return 0;
}

/* A member that must be a positive finite number; 0 with *out set, 1 when
 * absent, -1 after a message when present but not such a number. */
static int positive_member(json_t *object, const char *key, const char *where, double *out) {
    json_t *value = json_object_get(object, key);
    if (value == NULL)
        return 1;
    double number = json_is_number(value) ? json_number_value(value) : NAN;
    if (!(number > 0.0) || !isfinite(number))
        return input_error(where, "\"%s\" must be a positive number", key);
    *out = number;
    return 0;
}

/* A positive number that a result with `reference` must have. */
static int required_member(json_t *object, const char *key, const char *reference,
                           const char *where, double *out) {
    int status = positive_member(object, key, where, out);
    if (status > 0)
        return input_error(where, "a result with \"%s\" needs \"%s\"", reference, key);
    return status;
}

/* reference time / libclcnn time: ref_ms / ms, or gflops / ref_gflops. */
static int result_ratio(json_t *result, const char *where, double *ratio, int *has_reference) {
    double measured = 0.0, ref = 0.0;
    *has_reference = 0;
    int status = positive_member(result, "ref_ms", where, &ref);
    if (status == 0) {
        if (required_member(result, "ms", "ref_ms", where, &measured) != 0)
            return -1;
        *ratio = ref / measured;
    } else if (status > 0) {
        status = positive_member(result, "ref_gflops", where, &ref);
        if (status != 0)
            return status < 0 ? -1 : 0; /* no reference: not drawn */
        if (required_member(result, "gflops", "ref_gflops", where, &measured) != 0)
            return -1;
        *ratio = measured / ref;
    } else {
        return -1;
    }
    *has_reference = 1;
    return 0;
}

static int read_result(chart *c, size_t device, json_t *result, const char *where) {
    if (!json_is_object(result))
        return input_error(where, "a result must be a JSON object");
    const char *name = json_string_value(json_object_get(result, "name"));
    if (name == NULL || name[0] == '\0')
        return input_error(where, "a result needs a \"name\" string");
    char here[512];
    snprintf(here, sizeof here, "%.300s (%.128s)", where, name);
    double ratio = 0.0;
    int has_reference = 0;
    if (result_ratio(result, here, &ratio, &has_reference) != 0)
        return -1;
    if (!has_reference)
        return 0;
    if (!(ratio >= MIN_RATIO && ratio <= MAX_RATIO))
        return input_error(here, "speed ratio %g is outside %g..%g", ratio, MIN_RATIO, MAX_RATIO);
    size_t row = 0;
    if (find_benchmark(c, name, here, &row) != 0)
        return -1;
    c->ratio[row][device] = ratio;
    const char *source = json_string_value(json_object_get(result, "ref_source"));
    if (source != NULL && c->devices[device].reference[0] == '\0')
        copy_text(c->devices[device].reference, SOURCE_MAX_CHARS, source);
    return 0;
}

/* "NAME (type)", with " #2", " #3"... when an earlier device has it too. */
static void device_label(chart *c, json_t *device, const char *name, char *label) {
    const char *type = json_string_value(json_object_get(device, "type"));
    char base[LABEL_MAX_CHARS];
    if (type != NULL)
        snprintf(base, sizeof base, "%.180s (%.40s)", name, type);
    else
        copy_text(base, sizeof base, name);
    copy_text(label, LABEL_MAX_CHARS, base);
    for (unsigned copy = 2;; copy++) {
        int taken = 0;
        for (size_t i = 0; i < c->device_count; i++)
            taken |= strcmp(c->devices[i].label, label) == 0;
        if (!taken)
            return;
        snprintf(label, LABEL_MAX_CHARS, "%.230s #%u", base, copy);
    }
}

static int read_device(chart *c, json_t *entry, const char *where) {
    json_t *device = json_is_object(entry) ? json_object_get(entry, "device") : NULL;
    json_t *results = json_is_object(entry) ? json_object_get(entry, "results") : NULL;
    const char *name = json_string_value(json_object_get(device, "name"));
    if (!json_is_object(device) || name == NULL)
        return input_error(where, "needs a \"device\" object with a \"name\" string");
    if (!json_is_array(results))
        return input_error(where, "needs a \"results\" array");
    if (c->device_count == MAX_DEVICES)
        return input_error(where, "more than %d devices in all inputs", MAX_DEVICES);
    size_t index = c->device_count;
    device_label(c, device, name, c->devices[index].label);
    c->devices[index].reference[0] = '\0';
    c->device_count++;
    for (size_t i = 0; i < json_array_size(results); i++) {
        char here[512];
        snprintf(here, sizeof here, "%.400s.results[%zu]", where, i);
        if (read_result(c, index, json_array_get(results, i), here) != 0)
            return -1;
    }
    return 0;
}

static int read_document(chart *c, const char *path) {
    json_error_t error;
    int from_stdin = strcmp(path, "-") == 0;
    const char *where = from_stdin ? "<stdin>" : path;
    FILE *file = from_stdin ? stdin : fopen(path, "rb");
    if (file == NULL)
        return input_error(where, "cannot open: %s", strerror(errno));
    json_t *root = json_loadf(file, JSON_REJECT_DUPLICATES, &error);
    if (!from_stdin)
        fclose(file);
    if (root == NULL)
        return input_error(where, "line %d, column %d: invalid JSON: %s", error.line, error.column,
                           error.text);
    json_t *devices = json_is_object(root) ? json_object_get(root, "devices") : NULL;
    int result = 0;
    if (!json_is_array(devices))
        result = input_error(where, "not a clcnn-bench --json document (no \"devices\" array)");
    for (size_t i = 0; result == 0 && i < json_array_size(devices); i++) {
        char here[512];
        snprintf(here, sizeof here, "%.400s: devices[%zu]", where, i);
        result = read_device(c, json_array_get(devices, i), here);
    }
    json_decref(root);
    return result;
}

/* ----------------------------------------------------------- command line */

static void print_usage(FILE *out) {
    fputs("usage: clcnn-chart [--output FILE] [--title TEXT] [FILE.json...]\n"
          "\n"
          "Draws one or more clcnn-bench --json documents (FILE, or standard input\n"
          "when none is given or FILE is -) as an SVG bar chart: for every benchmark\n"
          "with a reference figure, one bar per device showing reference time /\n"
          "libclcnn time on a log scale (above 1: faster than the reference).\n"
          "\n"
          "  --output FILE, -o FILE  write the SVG there (default: standard output)\n"
          "  --title TEXT            the chart's title (default: names the devices)\n"
          "  --help, -h              show this and exit\n"
          "  --version               show the version and exit\n"
          "Options take their value as --name VALUE or --name=VALUE; -- ends them.\n"
          "\n"
          "example:\n"
          "  clcnn-bench --json > run.json\n"
          "  clcnn-chart run.json > chart.svg\n"
          "  clcnn-chart cpu.json gpu.json -o both.svg   # devices side by side\n"
          "\n"
          "Exit status: 0 on success, 1 on an unreadable or invalid input (with a\n"
          "message), 2 on a usage error.\n",
          out);
}

typedef struct cli_options {
    const char *output;
    const char *title;
    const char **inputs;
    size_t input_count;
} cli_options;

enum chart_option_id { OPT_OUTPUT, OPT_TITLE, OPT_HELP, OPT_VERSION };

static const tool_option chart_cli_options[] = {
    {"--output", "-o", 1, OPT_OUTPUT},
    {"--title", NULL, 1, OPT_TITLE},
    {"--help", "-h", 0, OPT_HELP},
    {"--version", NULL, 0, OPT_VERSION},
};

/* 0, -1 after --help or --version, or EXIT_USAGE. */
static int parse_arguments(int argc, char **argv, cli_options *o) {
    tool_cli cli;
    tool_cli_init(&cli, "clcnn-chart", argc, argv);
    for (;;) {
        const char *value = NULL;
        int id = tool_cli_next(&cli, chart_cli_options,
                               sizeof chart_cli_options / sizeof chart_cli_options[0], &value);
        if (id == TOOL_CLI_END)
            return 0;
        if (id == TOOL_CLI_ERROR)
            return EXIT_USAGE;
        if (id == OPT_HELP)
            print_usage(stdout);
        else if (id == OPT_VERSION)
            tool_print_version("clcnn-chart");
        if (id == OPT_HELP || id == OPT_VERSION)
            return -1;
        if (id == OPT_OUTPUT)
            o->output = value;
        else if (id == OPT_TITLE)
            o->title = value;
        else
            o->inputs[o->input_count++] = value;
    }
}

static int write_output(const cli_options *o, chart *c) {
    FILE *out = o->output != NULL ? fopen(o->output, "w") : stdout;
    if (out == NULL)
        return input_error(o->output, "cannot write: %s", strerror(errno));
    int failed = chart_write_svg(out, c) != 0;
    failed |= o->output != NULL ? fclose(out) != 0 : fflush(out) != 0;
    return failed ? input_error(o->output != NULL ? o->output : "<stdout>", "write failed") : 0;
}

int main(int argc, char **argv) {
    static const char *const standard_input[] = {"-"};
    cli_options o = {NULL, NULL, NULL, 0};
    o.inputs = calloc((size_t)argc, sizeof *o.inputs);
    chart *c = calloc(1, sizeof *c);
    if (o.inputs == NULL || c == NULL) {
        fprintf(stderr, "clcnn-chart: out of memory\n");
        free(o.inputs);
        free(c);
        return EXIT_FAILURE;
    }
    int status = parse_arguments(argc, argv, &o);
    int result = status == -1 ? EXIT_SUCCESS : status;
    if (status == 0) {
        const char *const *inputs = o.input_count > 0 ? o.inputs : standard_input;
        size_t count = o.input_count > 0 ? o.input_count : 1;
        c->title = o.title;
        result = EXIT_SUCCESS;
        for (size_t i = 0; i < count && result == EXIT_SUCCESS; i++)
            if (read_document(c, inputs[i]) != 0)
                result = EXIT_FAILURE;
        if (result == EXIT_SUCCESS && c->benchmark_count == 0)
            result = input_error(count == 1 ? (strcmp(inputs[0], "-") == 0 ? "<stdin>" : inputs[0])
                                            : "inputs",
                                 "no result with a reference figure (\"ref_ms\" or "
                                 "\"ref_gflops\"): nothing to draw") != 0
                         ? EXIT_FAILURE
                         : EXIT_SUCCESS;
        if (result == EXIT_SUCCESS && write_output(&o, c) != 0)
            result = EXIT_FAILURE;
    }
    free(o.inputs);
    free(c);
    return result;
}
