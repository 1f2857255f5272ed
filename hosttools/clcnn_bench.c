/* clcnn-bench: lists OpenCL devices and measures libclcnn's benchmark suite
 * (docs/benchmarks.md) on one device or all of them, as a table, JSON or
 * CSV.
 * Command line, device choice and the private temporary folders live here;
 * the run over one device in bench_run.c, the measurements in bench_suite.c
 * (start-up, launch, copies), bench_ops.c (operators) and bench_net.c
 * (networks), the output in bench_report.c with bench_reference.c's figures. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench.h"
#include "tool_cli.h"

#define DEFAULT_REPEATS 10
#define MAX_REPEATS 100000
#define DEFAULT_BATCH 128
#define MAX_BATCH 65536
#define EXIT_USAGE TOOL_EXIT_USAGE
#define HELP_SHOWN (-1) /* parse_arguments printed --help or --version: stop, successfully */

typedef struct cli_options {
    int list;
    int list_benchmarks;
    int json;
    int profile;
    int csv;
    int all_devices;
    int tune;
    size_t repeats;
    size_t batch;
    const char *device;
    const char *filter;
} cli_options;

/* ------------------------------------------------------------ command line */

static void print_usage(FILE *out) {
    fprintf(out,
            "usage: clcnn-bench [--list | --list-benchmarks] [--device SPEC | --all-devices]\n"
            "                   [--filter PATTERN] [--repeats N] [--batch N] [--json | --csv]\n"
            "                   [--profile] [--tune] [--help] [--version]\n"
            "Options take their value as --name VALUE or --name=VALUE.\n"
            "\n"
            "  --list           list every OpenCL device and exit\n"
            "  --list-benchmarks print every benchmark name, one a line, and exit\n"
            "  --device SPEC    \"P:D\", gpu, cpu, accelerator or part of a device or\n"
            "                   platform name (default: $CLCNN_DEVICE, else the default\n"
            "                   device: first GPU, else first CPU)\n"
            "  --all-devices    run on every device that libclcnn can use\n"
            "  --filter PATTERN benchmarks whose name contains PATTERN, or, when it holds\n"
            "                   * ? or [, whose whole name matches it as a glob; several\n"
            "                   patterns separated by commas (e.g. 'startup,copy_*')\n"
            "  --repeats N      samples per benchmark, median reported (default %d;\n"
            "                   fewer, at least 3, when one run is slow; startup_cold is\n"
            "                   always one sample)\n"
            "  --batch N        batch size of the net_* benchmarks (default %d; the\n"
            "                   reference figures are for %d)\n"
            "  --json           print one JSON document instead of tables\n"
            "  --tune           tune the conv shapes, GEMMs and element-wise kernels of the\n"
            "                   suite and of the seed network (at --batch) on one device,\n"
            "                   print the winners against the built-in choices, save them\n"
            "                   in the program cache directory\n"
            "                   ($CLCNN_CACHE_DIR, else ~/.cache/clcnn) and exit; later\n"
            "                   runs use them (CLCNN_TUNING=0: ignore them)\n"
            "  --csv            print CSV instead: a header row, then one row per device\n"
            "                   and benchmark (clcnn-chart draws --json output as SVG)\n"
            "  --profile        after timing each net_* benchmark, run it a few more times\n"
            "                   with the library's kernel profile: top kernels, launches\n"
            "                   per step, kernel time against wall time (JSON: \"profile\")\n"
            "  --version        the version, then exit\n"
            "\nbenchmarks:",
            DEFAULT_REPEATS, DEFAULT_BATCH, DEFAULT_BATCH);
    for (size_t i = 0; i < bench_name_count(); i++)
        fprintf(out, "%s%s", i % 6 == 0 ? "\n  " : " ", bench_name_at(i));
    fprintf(out, "\n");
}

#define PROGRAM "clcnn-bench"

enum bench_option_id {
    OPT_LIST,
    OPT_LIST_BENCHMARKS,
    OPT_JSON,
    OPT_PROFILE,
    OPT_CSV,
    OPT_TUNE,
    OPT_ALL_DEVICES,
    OPT_DEVICE,
    OPT_FILTER,
    OPT_REPEATS,
    OPT_BATCH,
    OPT_HELP,
    OPT_VERSION
};

static const tool_option bench_cli_options[] = {
    {"--list", NULL, 0, OPT_LIST},
    {"--list-benchmarks", NULL, 0, OPT_LIST_BENCHMARKS},
    {"--json", NULL, 0, OPT_JSON},
    {"--profile", NULL, 0, OPT_PROFILE},
    {"--csv", NULL, 0, OPT_CSV},
    {"--tune", NULL, 0, OPT_TUNE},
    {"--all-devices", NULL, 0, OPT_ALL_DEVICES},
    {"--device", NULL, 1, OPT_DEVICE},
    {"--filter", NULL, 1, OPT_FILTER},
    {"--repeats", NULL, 1, OPT_REPEATS},
    {"--batch", NULL, 1, OPT_BATCH},
    {"--help", "-h", 0, OPT_HELP},
    {"--version", NULL, 0, OPT_VERSION},
};

/* A filter is comma-separated patterns, none of them empty. */
static int check_filter(const char *filter) {
    size_t length = strlen(filter);
    if (length == 0)
        return tool_usage_error(PROGRAM, "--filter needs a pattern; clcnn-bench "
                                         "--list-benchmarks prints the names");
    if (filter[0] == ',' || filter[length - 1] == ',' || strstr(filter, ",,") != NULL)
        return tool_invalid_value(PROGRAM, "--filter", filter, "a pattern between commas is empty");
    return 0;
}

/* Takes one option; 0, or TOOL_EXIT_USAGE after a message. */
static int apply_option(cli_options *options, int id, const char *value) {
    switch (id) {
    case OPT_LIST:
        options->list = 1;
        return 0;
    case OPT_LIST_BENCHMARKS:
        options->list_benchmarks = 1;
        return 0;
    case OPT_JSON:
        options->json = 1;
        return 0;
    case OPT_PROFILE:
        options->profile = 1;
        return 0;
    case OPT_CSV:
        options->csv = 1;
        return 0;
    case OPT_TUNE:
        options->tune = 1;
        return 0;
    case OPT_ALL_DEVICES:
        options->all_devices = 1;
        return 0;
    case OPT_DEVICE:
        options->device = value;
        return 0;
    case OPT_FILTER:
        options->filter = value;
        return check_filter(value);
    case OPT_REPEATS:
        if (tool_parse_count(value, 1, MAX_REPEATS, &options->repeats))
            return 0;
        return tool_invalid_value(PROGRAM, "--repeats", value,
                                  "expected a number from 1 to 100000");
    case OPT_BATCH:
        if (tool_parse_count(value, 1, MAX_BATCH, &options->batch))
            return 0;
        return tool_invalid_value(PROGRAM, "--batch", value, "expected a number from 1 to 65536");
    default:
        return TOOL_EXIT_USAGE;
    }
}

static int check_combination(const cli_options *options) {
    if (options->all_devices && options->device != NULL)
        return tool_usage_error(PROGRAM, "--device and --all-devices exclude each other");
    if (options->tune && (options->all_devices || options->list || options->list_benchmarks))
        return tool_usage_error(PROGRAM,
                                "--tune works on one device and excludes the --list options");
    if (options->csv && (options->json || options->list))
        return tool_usage_error(PROGRAM, "--csv excludes --json and --list");
    return 0;
}

/* 0 to go on, HELP_SHOWN (--help or --version printed), or EXIT_USAGE after
 * a usage error. */
static int parse_arguments(int argc, char **argv, cli_options *options) {
    memset(options, 0, sizeof *options);
    options->repeats = DEFAULT_REPEATS;
    options->batch = DEFAULT_BATCH;
    tool_cli cli;
    tool_cli_init(&cli, PROGRAM, argc, argv);
    for (;;) {
        const char *value = NULL;
        int id = tool_cli_next(&cli, bench_cli_options,
                               sizeof bench_cli_options / sizeof bench_cli_options[0], &value);
        if (id == TOOL_CLI_END)
            break;
        if (id == TOOL_CLI_ERROR)
            return EXIT_USAGE;
        if (id == TOOL_CLI_OPERAND)
            return tool_usage_error(PROGRAM, "unexpected argument \"%s\"", value);
        if (id == OPT_HELP) {
            print_usage(stdout);
            return HELP_SHOWN;
        }
        if (id == OPT_VERSION) {
            tool_print_version(PROGRAM);
            return HELP_SHOWN;
        }
        int status = apply_option(options, id, value);
        if (status != 0)
            return status;
    }
    return check_combination(options);
}

static int filter_selects_any(const char *filter) {
    for (size_t i = 0; i < bench_name_count(); i++)
        if (bench_selected(filter, bench_name_at(i)))
            return 1;
    return 0;
}

static int list_benchmarks(void) {
    for (size_t i = 0; i < bench_name_count(); i++)
        printf("%s\n", bench_name_at(i));
    return 0;
}

/* ------------------------------------------------------------------ --list */

static int list_devices(int json) {
    clcnn_device_list *list = NULL;
    clcnn_status status = clcnn_device_list_create(&list);
    if (status != CLCNN_OK)
        return bench_fail_message("listing devices", status, NULL);
    json_t *devices = json ? json_array() : NULL;
    int failed = json && devices == NULL;
    for (size_t i = 0; i < clcnn_device_list_count(list) && !failed; i++) {
        clcnn_device_info info;
        status = clcnn_device_list_get(list, i, &info);
        if (status != CLCNN_OK)
            failed = bench_fail_message("reading device facts", status, NULL) != 0;
        else if (json)
            failed = json_array_append_new(devices, bench_device_json(&info)) != 0;
        else
            bench_print_device_block(&info);
    }
    clcnn_device_list_destroy(list);
    if (!json || failed) {
        json_decref(devices);
        return failed ? -1 : 0;
    }
    json_t *root = json_pack("{s:s, s:s, s:o}", "library", "libclcnn", "version", clcnn_version(),
                             "devices", devices);
    return root != NULL ? bench_print_json(root) : -1;
}

/* ------------------------------------------------------------ temp folders */

/* The folder holding every cache the run makes, removed at exit. Unless the
 * user chose otherwise, the drivers' own kernel caches (POCL, NVIDIA) go in
 * there too, so that a 'cold' start-up is cold for them as well. This must
 * happen before the first OpenCL call, which reads these variables. */
static char *make_temp_root(void) {
    const char *parent = getenv("TMPDIR");
    char *root =
        bench_make_temp_dir(parent != NULL && parent[0] != '\0' ? parent : "/tmp", "clcnn-bench-");
    if (root == NULL) {
        bench_fail_message("making a temporary directory", CLCNN_ERROR_IO, strerror(errno));
        return NULL;
    }
    static const char *const variables[][2] = {{"POCL_CACHE_DIR", "pocl-cache"},
                                               {"CUDA_CACHE_PATH", "cuda-cache"}};
    for (size_t i = 0; i < sizeof variables / sizeof variables[0]; i++) {
        if (getenv(variables[i][0]) != NULL)
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", root, variables[i][1]);
        if (mkdir(path, 0700) == 0)
            setenv(variables[i][0], path, 1);
    }
    return root;
}

/* ---------------------------------------------------------------- devices */

/* The facts of the device that a context with this choice would use. */
static int resolve_device(const clcnn_device_list *list, const char *spec,
                          clcnn_device_info *info) {
    const char *selector = spec != NULL ? spec : getenv("CLCNN_DEVICE");
    char message[2048] = "";
    size_t index = 0;
    clcnn_status status = clcnn_device_list_select(list, selector, message, sizeof message, &index);
    if (status == CLCNN_OK)
        status = clcnn_device_list_get(list, index, info);
    if (status == CLCNN_OK)
        return 0;
    /* Report what a context made with this choice says (its error_buffer). */
    char error[2048] = "";
    clcnn_context_options options = clcnn_context_options_default();
    options.device = spec;
    options.error_buffer = error;
    options.error_buffer_size = sizeof error;
    clcnn_context *ctx = NULL;
    clcnn_status context_status = clcnn_context_create(&options, &ctx);
    clcnn_context_destroy(ctx);
    if (context_status != CLCNN_OK)
        return bench_fail_message("creating a context", context_status, error);
    return bench_fail_message("choosing the device", status, message);
}

static int bench_one_device(const cli_options *options, const char *spec,
                            const clcnn_device_info *info, const char *temp_root,
                            bench_report *report) {
    bench_run run = {spec,           info,   temp_root,       options->filter, options->repeats,
                     options->batch, report, options->profile};
    return bench_run_device(&run);
}

static int bench_devices(const cli_options *options, const clcnn_device_list *list,
                         const char *temp_root, bench_report *report) {
    clcnn_device_info info;
    if (!options->all_devices) {
        if (resolve_device(list, options->device, &info) != 0)
            return -1;
        return bench_one_device(options, options->device, &info, temp_root, report);
    }
    for (size_t i = 0; i < clcnn_device_list_count(list); i++) {
        clcnn_status status = clcnn_device_list_get(list, i, &info);
        if (status != CLCNN_OK)
            return bench_fail_message("reading device facts", status, NULL);
        if (!info.supported) /* too old: --list says why */
            continue;
        char spec[48];
        snprintf(spec, sizeof spec, "%zu:%zu", info.platform_index, info.device_index);
        if (bench_one_device(options, spec, &info, temp_root, report) != 0)
            return -1;
    }
    return 0;
}

static int run_benchmarks(const cli_options *options) {
    if (!filter_selects_any(options->filter))
        return tool_usage_error(PROGRAM, "no benchmark matches --filter %s", options->filter);
    char *temp_root = make_temp_root();
    if (temp_root == NULL)
        return EXIT_FAILURE;
    clcnn_device_list *list = NULL;
    bench_report report;
    int format = options->csv    ? BENCH_FORMAT_CSV
                 : options->json ? BENCH_FORMAT_JSON
                                 : BENCH_FORMAT_TABLE;
    int failed = bench_report_init(&report, format, (int)options->repeats) != 0;
    clcnn_status status = failed ? CLCNN_OK : clcnn_device_list_create(&list);
    if (status != CLCNN_OK)
        failed = bench_fail_message("listing devices", status, NULL) != 0;
    if (!failed)
        failed = bench_devices(options, list, temp_root, &report) != 0 ||
                 bench_report_finish(&report) != 0;
    bench_report_free(&report);
    clcnn_device_list_destroy(list);
    bench_remove_tree(temp_root);
    free(temp_root);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

static int run(int argc, char **argv) {
    cli_options options;
    int status = parse_arguments(argc, argv, &options);
    if (status != 0)
        return status == HELP_SHOWN ? EXIT_SUCCESS : status;
    if (options.list_benchmarks)
        return list_benchmarks() == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
    if (options.tune)
        return bench_tune(options.device, options.batch, options.repeats, options.json) == 0
                   ? EXIT_SUCCESS
                   : EXIT_FAILURE;
    if (options.list)
        return list_devices(options.json) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
    return run_benchmarks(&options);
}

/* Under mpirun (allreduce_*) every rank runs the same selection; rank 0
 * prints. */
int main(int argc, char **argv) {
    if (bench_mpi_start(&argc, &argv) != 0)
        return EXIT_FAILURE;
    int status = run(argc, argv);
    bench_mpi_end(status == EXIT_FAILURE);
    return status;
}
