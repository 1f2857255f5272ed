/* Run-time compiled programs: embedded sources with their includes expanded,
 * built once per (source, options) and context, through the disk cache. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/internal.h"

const clcnn__embedded_source *clcnn__find_embedded_source(const char *name) {
    for (size_t i = 0; i < clcnn__embedded_source_count; i++)
        if (strcmp(clcnn__embedded_sources[i].name, name) == 0)
            return &clcnn__embedded_sources[i];
    return NULL;
}

/* ------------------------------------------------------- include expansion */

typedef struct text_buffer {
    char *data;
    size_t length;
    size_t capacity;
    int failed;
} text_buffer;

static void append(text_buffer *buffer, const char *text, size_t length) {
    if (buffer->failed)
        return;
    if (buffer->length + length + 1 > buffer->capacity) {
        size_t capacity = buffer->capacity ? buffer->capacity : 4096;
        while (capacity < buffer->length + length + 1)
            capacity *= 2;
        char *grown = realloc(buffer->data, capacity);
        if (grown == NULL) {
            buffer->failed = 1;
            return;
        }
        buffer->data = grown;
        buffer->capacity = capacity;
    }
    memcpy(buffer->data + buffer->length, text, length);
    buffer->length += length;
    buffer->data[buffer->length] = '\0';
}

static void append_line_marker(text_buffer *buffer, size_t line, const char *file) {
    char marker[320];
    int length = snprintf(marker, sizeof marker, "#line %zu \"%s\"\n", line, file);
    if (length > 0 && (size_t)length < sizeof marker)
        append(buffer, marker, (size_t)length);
}

/* When `line` is `#include "name"`, copies name into out and returns 1. */
static int parse_include(const char *line, size_t length, char *out, size_t size) {
    const char *p = line, *end = line + length;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    if (p >= end || *p++ != '#')
        return 0;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    if ((size_t)(end - p) < 8 || strncmp(p, "include", 7) != 0)
        return 0;
    p += 7;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    if (p >= end || *p++ != '"')
        return 0;
    const char *close = memchr(p, '"', (size_t)(end - p));
    if (close == NULL || (size_t)(close - p) >= size)
        return 0;
    memcpy(out, p, (size_t)(close - p));
    out[close - p] = '\0';
    return 1;
}

#define MAX_INCLUDE_DEPTH 8

typedef struct include_state {
    const char *seen[32]; /* headers already expanded: each goes in once */
    size_t seen_count;
} include_state;

static int already_seen(include_state *state, const char *name) {
    for (size_t i = 0; i < state->seen_count; i++)
        if (strcmp(state->seen[i], name) == 0)
            return 1;
    return 0;
}

static void expand(text_buffer *buffer, include_state *state, const char *file_name,
                   const char *source, int depth) {
    size_t line_number = 1;
    for (const char *line = source; *line != '\0' && !buffer->failed; line_number++) {
        const char *newline = strchr(line, '\n');
        size_t length = newline ? (size_t)(newline - line) + 1 : strlen(line);
        char name[256];
        const clcnn__embedded_source *header = NULL;
        if (depth < MAX_INCLUDE_DEPTH && parse_include(line, length, name, sizeof name))
            header = clcnn__find_embedded_source(name);
        if (header == NULL) {
            append(buffer, line, length);
            if (newline == NULL)
                append(buffer, "\n", 1);
        } else if (!already_seen(state, header->name) &&
                   state->seen_count < sizeof state->seen / sizeof state->seen[0]) {
            state->seen[state->seen_count++] = header->name;
            append_line_marker(buffer, 1, header->name);
            expand(buffer, state, header->name, header->text, depth + 1);
            append_line_marker(buffer, line_number + 1, file_name);
        }
        line += length;
    }
}

clcnn_status clcnn__expand_includes(clcnn_context *ctx, const char *source_name, const char *source,
                                    char **out) {
    text_buffer buffer = {0};
    include_state state = {0};
    append(&buffer, "", 0);
    expand(&buffer, &state, source_name, source, 0);
    if (buffer.failed) {
        free(buffer.data);
        return clcnn__fail(ctx, CLCNN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    }
    *out = buffer.data;
    return CLCNN_OK;
}

/* ------------------------------------------------------------------ building */

/* The options every program is built with, then the caller's. */
static char *full_build_options(const clcnn_context *ctx, const char *options) {
    const char *standard = ctx->info.opencl_c_major > 1 ||
                                   (ctx->info.opencl_c_major == 1 && ctx->info.opencl_c_minor >= 2)
                               ? "-cl-std=CL1.2"
                               : "";
    const char *extra = options != NULL ? options : "";
    size_t length = strlen(standard) + strlen(extra) + 2;
    char *text = malloc(length);
    if (text != NULL)
        snprintf(text, length, "%s%s%s", standard, standard[0] && extra[0] ? " " : "", extra);
    return text;
}

static char *build_log(const clcnn_context *ctx, cl_program program) {
    size_t size = 0;
    if (clGetProgramBuildInfo(program, ctx->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &size) !=
        CL_SUCCESS)
        size = 0;
    char *log = malloc(size + 1);
    if (log == NULL)
        return NULL;
    if (size == 0 || clGetProgramBuildInfo(program, ctx->device, CL_PROGRAM_BUILD_LOG, size, log,
                                           NULL) != CL_SUCCESS)
        size = 0;
    log[size] = '\0';
    return log;
}

static clcnn_status fail_build(clcnn_context *ctx, cl_program program, cl_int err,
                               const char *label, const char *options) {
    char *log = build_log(ctx, program);
    clcnn__fail(ctx, CLCNN_ERROR_BUILD_FAILED,
                "building OpenCL program '%s' (options \"%s\") for %s failed: %s (%d)\n"
                "build log:\n%s",
                label, options, ctx->info.device_name, clcnn__cl_error_name(err), (int)err,
                log != NULL ? log : "(out of host memory reading the log)");
    free(log);
    return CLCNN_ERROR_BUILD_FAILED;
}

/* The single device binary of a built program, malloc'ed. */
static unsigned char *program_binary(cl_program program, size_t *size) {
    size_t sizes[1] = {0};
    *size = 0;
    if (clGetProgramInfo(program, CL_PROGRAM_BINARY_SIZES, sizeof sizes, sizes, NULL) !=
            CL_SUCCESS ||
        sizes[0] == 0)
        return NULL;
    unsigned char *binary = malloc(sizes[0]);
    unsigned char *binaries[1] = {binary};
    if (binary != NULL && clGetProgramInfo(program, CL_PROGRAM_BINARIES, sizeof binaries, binaries,
                                           NULL) != CL_SUCCESS) {
        free(binary);
        return NULL;
    }
    *size = binary != NULL ? sizes[0] : 0;
    return binary;
}

/* Builds from a cached binary; returns NULL when there is none or the
 * driver refuses it (the file is then dropped). */
static cl_program build_from_cache(clcnn_context *ctx, const clcnn__cache_key *key,
                                   const char *options) {
    unsigned char *binary = NULL;
    size_t size = 0;
    if (!clcnn__disk_cache_load(ctx, key, &binary, &size))
        return NULL;
    cl_int err = CL_SUCCESS, binary_status = CL_SUCCESS;
    const unsigned char *binaries[1] = {binary};
    cl_program program =
        clCreateProgramWithBinary(ctx->cl, 1, &ctx->device, &size, binaries, &binary_status, &err);
    free(binary);
    if (err == CL_SUCCESS && binary_status == CL_SUCCESS)
        err = clBuildProgram(program, 1, &ctx->device, options, NULL, NULL);
    if (err == CL_SUCCESS && binary_status == CL_SUCCESS) {
        ctx->cache_stats.disk_hits++;
        return program;
    }
    if (program != NULL)
        clReleaseProgram(program);
    ctx->cache_stats.disk_rejects++;
    clcnn__disk_cache_drop(ctx, key);
    return NULL;
}

static clcnn_status build_from_source(clcnn_context *ctx, const char *label, const char *source,
                                      const char *options, const clcnn__cache_key *key,
                                      cl_program *out) {
    cl_int err = CL_SUCCESS;
    cl_program program = clCreateProgramWithSource(ctx->cl, 1, &source, NULL, &err);
    if (err != CL_SUCCESS)
        return clcnn__fail_cl(ctx, err, "clCreateProgramWithSource");
    ctx->cache_stats.builds++;
    err = clBuildProgram(program, 1, &ctx->device, options, NULL, NULL);
    if (err != CL_SUCCESS) {
        clcnn_status status = fail_build(ctx, program, err, label, options);
        clReleaseProgram(program);
        return status;
    }
    size_t size = 0;
    unsigned char *binary = ctx->disk_cache_enabled ? program_binary(program, &size) : NULL;
    if (binary != NULL)
        clcnn__disk_cache_store(ctx, key, binary, size);
    free(binary);
    *out = program;
    return CLCNN_OK;
}

/* Where a program may come from. */
typedef enum build_route {
    CACHE_OR_SOURCE, /* the disk cache when it holds the program, else source */
    SOURCE_ONLY      /* source; the cached file, distrusted, is dropped first */
} build_route;

/* clcnn__program_build_source along `route`; *from_disk_cache tells whether
 * the program came from a cached binary. */
static clcnn_status build_program(clcnn_context *ctx, const char *label, const char *source,
                                  const char *options, build_route route, int *from_disk_cache,
                                  cl_program *out) {
    *out = NULL;
    *from_disk_cache = 0;
    char *expanded = NULL;
    char *full_options = full_build_options(ctx, options);
    clcnn__cache_key key = {0};
    clcnn_status status = full_options != NULL ? CLCNN_OK
                                               : clcnn__fail(ctx, CLCNN_ERROR_OUT_OF_HOST_MEMORY,
                                                             "out of host memory");
    if (status == CLCNN_OK)
        status = clcnn__expand_includes(ctx, label, source, &expanded);
    if (status == CLCNN_OK)
        status = clcnn__cache_key_make(ctx, expanded, full_options, &key);
    if (status == CLCNN_OK && route == SOURCE_ONLY)
        clcnn__disk_cache_drop(ctx, &key);
    if (status == CLCNN_OK && route == CACHE_OR_SOURCE)
        *out = build_from_cache(ctx, &key, full_options);
    *from_disk_cache = *out != NULL;
    if (status == CLCNN_OK && *out == NULL)
        status = build_from_source(ctx, label, expanded, full_options, &key, out);
    clcnn__cache_key_free(&key);
    free(expanded);
    free(full_options);
    return status;
}

clcnn_status clcnn__program_build_source(clcnn_context *ctx, const char *label, const char *source,
                                         const char *options, cl_program *out) {
    if (ctx == NULL || label == NULL || source == NULL || out == NULL)
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT, "program build: NULL argument");
    int from_disk_cache = 0;
    return build_program(ctx, label, source, options, CACHE_OR_SOURCE, &from_disk_cache, out);
}

/* Why clCreateKernel failed: a name the program lacks is NOT_FOUND. */
static clcnn_status fail_create_kernel(clcnn_context *ctx, cl_int err, const char *kernel_name,
                                       const char *label) {
    return clcnn__fail(
        ctx, err == CL_INVALID_KERNEL_NAME ? CLCNN_ERROR_NOT_FOUND : clcnn__status_from_cl(err),
        "clCreateKernel '%s' in '%s': %s (%d)", kernel_name, label, clcnn__cl_error_name(err),
        (int)err);
}

clcnn_status clcnn__kernel_build_source(clcnn_context *ctx, const char *label, const char *source,
                                        const char *options, const char *kernel_name,
                                        cl_kernel *out) {
    if (ctx == NULL || label == NULL || source == NULL || kernel_name == NULL || out == NULL)
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT, "kernel build: NULL argument");
    *out = NULL;
    cl_program program = NULL;
    int from_disk_cache = 0;
    clcnn_status status =
        build_program(ctx, label, source, options, CACHE_OR_SOURCE, &from_disk_cache, &program);
    if (status != CLCNN_OK)
        return status;
    cl_int err = CL_SUCCESS;
    cl_kernel kernel = clCreateKernel(program, kernel_name, &err);
    if (err != CL_SUCCESS && from_disk_cache) {
        /* As for the library's own programs: the cached binary may be
         * what is wrong. */
        clReleaseProgram(program);
        status =
            build_program(ctx, label, source, options, SOURCE_ONLY, &from_disk_cache, &program);
        if (status != CLCNN_OK)
            return status;
        ctx->cache_stats.disk_rejects++;
        kernel = clCreateKernel(program, kernel_name, &err);
    }
    clReleaseProgram(program); /* the kernel holds it */
    if (err != CL_SUCCESS)
        return fail_create_kernel(ctx, err, kernel_name, label);
    *out = kernel;
    return CLCNN_OK;
}

/* ------------------------------------------------------------- memory cache */

static int same_options(const char *a, const char *b) {
    return strcmp(a != NULL ? a : "", b != NULL ? b : "") == 0;
}

static clcnn__program_entry *find_entry(clcnn_context *ctx, const char *source_name,
                                        const char *options) {
    for (size_t i = 0; i < ctx->program_count; i++) {
        clcnn__program_entry *entry = &ctx->programs[i];
        if (strcmp(entry->source_name, source_name) == 0 && same_options(entry->options, options))
            return entry;
    }
    return NULL;
}

static clcnn_status add_entry(clcnn_context *ctx, const char *source_name, const char *options,
                              cl_program program, clcnn__program_entry **out) {
    clcnn__program_entry *grown =
        realloc(ctx->programs, (ctx->program_count + 1) * sizeof *ctx->programs);
    if (grown == NULL)
        return CLCNN_ERROR_OUT_OF_HOST_MEMORY;
    ctx->programs = grown;
    clcnn__program_entry *entry = &ctx->programs[ctx->program_count];
    memset(entry, 0, sizeof *entry);
    entry->source_name = clcnn__strdup(source_name);
    entry->options = clcnn__strdup(options != NULL ? options : "");
    if (entry->source_name == NULL || entry->options == NULL) {
        free(entry->source_name);
        free(entry->options);
        return CLCNN_ERROR_OUT_OF_HOST_MEMORY;
    }
    entry->program = program;
    ctx->program_count++;
    *out = entry;
    return CLCNN_OK;
}

static clcnn_status entry_get(clcnn_context *ctx, const char *source_name, const char *options,
                              clcnn__program_entry **out) {
    clcnn__program_entry *entry = find_entry(ctx, source_name, options);
    if (entry != NULL) {
        ctx->cache_stats.memory_hits++;
        *out = entry;
        return CLCNN_OK;
    }
    const clcnn__embedded_source *source = clcnn__find_embedded_source(source_name);
    if (source == NULL)
        return clcnn__fail(ctx, CLCNN_ERROR_NOT_FOUND, "no embedded OpenCL source named '%s'",
                           source_name);
    cl_program program = NULL;
    int from_disk_cache = 0;
    clcnn_status status = build_program(ctx, source_name, source->text, options, CACHE_OR_SOURCE,
                                        &from_disk_cache, &program);
    if (status != CLCNN_OK)
        return status;
    status = add_entry(ctx, source_name, options, program, out);
    if (status != CLCNN_OK) {
        clReleaseProgram(program);
        return clcnn__fail(ctx, status, "out of host memory");
    }
    (*out)->from_disk_cache = from_disk_cache;
    return CLCNN_OK;
}

clcnn_status clcnn__program_get(clcnn_context *ctx, const char *source_name, const char *options,
                                cl_program *out) {
    if (ctx == NULL || source_name == NULL || out == NULL)
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT, "program: NULL argument");
    clcnn__program_entry *entry = NULL;
    clcnn_status status = entry_get(ctx, source_name, options, &entry);
    *out = status == CLCNN_OK ? entry->program : NULL;
    return status;
}

/* Replaces the entry's program, loaded from a cached binary, by one built
 * from source, dropping the cached file. Kernels already made keep the old
 * program alive until they are released. */
static clcnn_status rebuild_from_source(clcnn_context *ctx, clcnn__program_entry *entry) {
    const clcnn__embedded_source *source = clcnn__find_embedded_source(entry->source_name);
    if (source == NULL)
        return clcnn__fail(ctx, CLCNN_ERROR_NOT_FOUND, "no embedded OpenCL source named '%s'",
                           entry->source_name);
    cl_program program = NULL;
    int from_disk_cache = 0;
    clcnn_status status = build_program(ctx, entry->source_name, source->text, entry->options,
                                        SOURCE_ONLY, &from_disk_cache, &program);
    if (status != CLCNN_OK)
        return status;
    ctx->cache_stats.disk_rejects++;
    clReleaseProgram(entry->program);
    entry->program = program;
    entry->from_disk_cache = 0;
    return CLCNN_OK;
}

static clcnn_status create_kernel(clcnn_context *ctx, clcnn__program_entry *entry,
                                  const char *kernel_name, cl_kernel *out) {
    clcnn__kernel_entry *grown =
        realloc(entry->kernels, (entry->kernel_count + 1) * sizeof *entry->kernels);
    if (grown == NULL)
        return clcnn__fail(ctx, CLCNN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    entry->kernels = grown;
    cl_int err = CL_SUCCESS;
    cl_kernel kernel = clCreateKernel(entry->program, kernel_name, &err);
    if (err != CL_SUCCESS && entry->from_disk_cache) {
        /* The cached binary may be what is wrong (the driver loads another
         * program's binary just as well): once, try the program from source. */
        clcnn_status status = rebuild_from_source(ctx, entry);
        if (status != CLCNN_OK)
            return status;
        err = CL_SUCCESS;
        kernel = clCreateKernel(entry->program, kernel_name, &err);
    }
    if (err != CL_SUCCESS)
        return fail_create_kernel(ctx, err, kernel_name, entry->source_name);
    char *name = clcnn__strdup(kernel_name);
    if (name == NULL) {
        clReleaseKernel(kernel);
        return clcnn__fail(ctx, CLCNN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    }
    entry->kernels[entry->kernel_count].name = name;
    entry->kernels[entry->kernel_count].kernel = kernel;
    entry->kernel_count++;
    *out = kernel;
    return CLCNN_OK;
}

clcnn_status clcnn__kernel_get(clcnn_context *ctx, const char *source_name, const char *options,
                               const char *kernel_name, cl_kernel *out) {
    if (ctx == NULL || source_name == NULL || kernel_name == NULL || out == NULL)
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT, "kernel: NULL argument");
    *out = NULL;
    clcnn__program_entry *entry = NULL;
    clcnn_status status = entry_get(ctx, source_name, options, &entry);
    if (status != CLCNN_OK)
        return status;
    for (size_t i = 0; i < entry->kernel_count; i++) {
        if (strcmp(entry->kernels[i].name, kernel_name) == 0) {
            *out = entry->kernels[i].kernel;
            return CLCNN_OK;
        }
    }
    return create_kernel(ctx, entry, kernel_name, out);
}

void clcnn__programs_release(clcnn_context *ctx) {
    for (size_t i = 0; i < ctx->program_count; i++) {
        clcnn__program_entry *entry = &ctx->programs[i];
        for (size_t k = 0; k < entry->kernel_count; k++) {
            clReleaseKernel(entry->kernels[k].kernel);
            free(entry->kernels[k].name);
        }
        free(entry->kernels);
        clReleaseProgram(entry->program);
        free(entry->source_name);
        free(entry->options);
    }
    free(ctx->programs);
    ctx->programs = NULL;
    ctx->program_count = 0;
}

/* Programs the library runs: *.cl but not the *_test.cl kernels that only
 * the test suite builds. */
static int is_program_file(const char *name) {
    size_t length = strlen(name);
    int is_cl = length > 3 && strcmp(name + length - 3, ".cl") == 0;
    int is_test = length > 8 && strcmp(name + length - 8, "_test.cl") == 0;
    return is_cl && !is_test;
}

static clcnn_status prepare_programs(clcnn_context *context) {
    for (size_t i = 0; i < clcnn__embedded_source_count; i++) {
        const char *name = clcnn__embedded_sources[i].name;
        cl_program program = NULL;
        if (!is_program_file(name))
            continue;
        clcnn_status status = clcnn__program_get(context, name, NULL, &program);
        if (status != CLCNN_OK)
            return status;
    }
    return CLCNN_OK;
}

clcnn_status clcnn_context_prepare_programs(clcnn_context *context) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(context);
    return clcnn__named(context, mark, __func__, prepare_programs(context));
}

/* ----------------------------------------------------------------- launching */
