/* Program building and the program caches (internal API): build failures and
 * their logs, memory and disk hits, corrupt and unwritable cache files, a
 * cached binary whose kernels cannot be made, cache files and directories
 * that may not be trusted (FIFOs, links, other users', writable by others),
 * the switches that turn the disk cache off, and
 * clcnn_context_prepare_programs. Every case uses its own temporary cache
 * directory. The ownership cases need root (chown to another user): they
 * are registered only when the test runs as root. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support/test_support.h"

/* Two fresh cache directories per test, removed by the teardown even when the
 * test fails. */
typedef struct dirs {
    char *dir;
    char *other;
} dirs;

static int make_dirs(void **state) {
    dirs *d = calloc(1, sizeof *d);
    if (d == NULL)
        return -1;
    d->dir = ts_temp_dir_create();
    d->other = ts_temp_dir_create();
    *state = d;
    return 0;
}

static int remove_dirs(void **state) {
    dirs *d = *state;
    ts_temp_dir_remove(d->dir);
    ts_temp_dir_remove(d->other);
    free(d);
    return 0;
}

static clcnn_context *cache_context(const char *dir, int disk_cache) {
    clcnn_context_options options = clcnn_context_options_default();
    options.cache_dir = dir;
    options.disk_cache = disk_cache;
    return ts_context_create_with(&options);
}

static clcnn_cache_stats cache_stats(const clcnn_context *ctx) {
    clcnn_cache_stats stats;
    TS_ASSERT_OK(ctx, clcnn_context_cache_stats(ctx, &stats));
    return stats;
}

#define ASSERT_CACHE_STATS(ctx, memory, disk, built, rejects) \
    assert_cache_stats((ctx), (memory), (disk), (built), (rejects), __FILE__, __LINE__)

static void assert_cache_stats(const clcnn_context *ctx, uint64_t memory_hits, uint64_t disk_hits,
                               uint64_t builds, uint64_t disk_rejects, const char *file, int line) {
    clcnn_cache_stats s = cache_stats(ctx);
    if (s.memory_hits != memory_hits || s.disk_hits != disk_hits || s.builds != builds ||
        s.disk_rejects != disk_rejects) {
        print_error("cache stats: memory_hits %llu disk_hits %llu builds %llu disk_rejects "
                    "%llu; expected %llu %llu %llu %llu\n",
                    (unsigned long long)s.memory_hits, (unsigned long long)s.disk_hits,
                    (unsigned long long)s.builds, (unsigned long long)s.disk_rejects,
                    (unsigned long long)memory_hits, (unsigned long long)disk_hits,
                    (unsigned long long)builds, (unsigned long long)disk_rejects);
        _fail(file, line);
    }
}

static void get_util(clcnn_context *ctx, const char *options) {
    cl_program program = NULL;
    TS_ASSERT_OK(ctx, clcnn__program_get(ctx, "util.cl", options, &program));
    assert_non_null(program);
}

/* The directory holds exactly `count` cache files and nothing else (no
 * leftover temporary files). */
static void assert_cache_files(const char *dir, size_t count) {
    assert_int_equal(ts_dir_count(dir, ".bin"), count);
    assert_int_equal(ts_dir_count(dir, ""), count);
}

static long file_size(const char *path) {
    FILE *file = fopen(path, "rb");
    assert_non_null(file);
    assert_int_equal(fseek(file, 0, SEEK_END), 0);
    long size = ftell(file);
    fclose(file);
    return size;
}

static void write_bytes(const char *path, const unsigned char *data, size_t size) {
    FILE *file = fopen(path, "wb");
    assert_non_null(file);
    assert_int_equal(fwrite(data, 1, size, file), size);
    assert_int_equal(fclose(file), 0);
}

static unsigned char *read_bytes(const char *path, size_t *size) {
    long length = file_size(path);
    assert_true(length > 0);
    unsigned char *data = ts_malloc((size_t)length);
    FILE *file = fopen(path, "rb");
    assert_non_null(file);
    assert_int_equal(fread(data, 1, (size_t)length, file), (size_t)length);
    fclose(file);
    *size = (size_t)length;
    return data;
}

/* --------------------------------------------------------------- build errors */

static void test_build_failure_reports_log(void **state) {
    char *dir = ((dirs *)*state)->dir;
    clcnn_context *ctx = cache_context(dir, CLCNN_CACHE_ON);
    const char *source = "#include \"common.h\"\n"
                         "__kernel void broken(__global float *x) {\n"
                         "    x[0] = undeclared_identifier_xyz * 2.0f;\n"
                         "}\n";
    cl_program program = NULL;
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_BUILD_FAILED,
                     clcnn__program_build_source(ctx, "broken.cl", source, NULL, &program));
    assert_null(program);
    const char *message = clcnn_context_last_error(ctx);
    TS_ASSERT_CONTAINS(message, "broken.cl");
    TS_ASSERT_CONTAINS(message, "undeclared_identifier_xyz");
    assert_cache_files(dir, 0); /* a failed build is not cached */

    /* The same source, fixed, builds through the same call. */
    const char *fixed = "#include \"common.h\"\n"
                        "__kernel void fixed(__global float *x) { x[0] = 2.0f; }\n";
    TS_ASSERT_OK(ctx, clcnn__program_build_source(ctx, "fixed.cl", fixed, NULL, &program));
    assert_non_null(program);
    clReleaseProgram(program);
    assert_cache_files(dir, 1);
    clcnn_context_destroy(ctx);
}

static void test_missing_source_and_kernel(void **state) {
    (void)state;
    clcnn_context *ctx = cache_context(NULL, CLCNN_CACHE_OFF);
    cl_program program = NULL;
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_NOT_FOUND,
                     clcnn__program_get(ctx, "no_such_file.cl", NULL, &program));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "no_such_file.cl");
    cl_kernel kernel = NULL;
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_NOT_FOUND,
                     clcnn__kernel_get(ctx, "util.cl", NULL, "no_such_kernel", &kernel));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "no_such_kernel");
    /* The program itself is fine and stays usable. */
    ts_check_copy_float4(ctx, NULL, 7);
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn__program_get(ctx, NULL, NULL, &program));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn__program_get(ctx, "util.cl", NULL, NULL));
    clcnn_context_destroy(ctx);
}

/* ------------------------------------------------------- memory and disk hits */

static void test_memory_and_disk_hits(void **state) {
    char *dir = ((dirs *)*state)->dir;
    clcnn_context *ctx = cache_context(dir, CLCNN_CACHE_ON);
    ASSERT_CACHE_STATS(ctx, 0, 0, 0, 0);
    get_util(ctx, NULL);
    ASSERT_CACHE_STATS(ctx, 0, 0, 1, 0);
    assert_cache_files(dir, 1);
    get_util(ctx, NULL);
    ASSERT_CACHE_STATS(ctx, 1, 0, 1, 0);
    assert_int_equal(cache_stats(ctx).disk_write_failures, 0);
    assert_string_equal(cache_stats(ctx).write_failure_reason, "");
    clcnn_context_destroy(ctx);

    ctx = cache_context(dir, CLCNN_CACHE_ON);
    get_util(ctx, NULL);
    ASSERT_CACHE_STATS(ctx, 0, 1, 0, 0);
    assert_cache_files(dir, 1);
    ts_check_copy_float4(ctx, NULL, 7); /* the loaded binary works */
    clcnn_context_destroy(ctx);
}

/* ------------------------------------------------------------- corrupt files */

typedef void (*corruptor)(const char *path);

static void corrupt_truncate(const char *path) {
    long size = file_size(path);
    assert_int_equal(truncate(path, size / 2), 0);
}

static void corrupt_flip_middle(const char *path) {
    size_t size = 0;
    unsigned char *data = read_bytes(path, &size);
    assert_true(size > 64);
    for (size_t i = size / 2 - 8; i < size / 2 + 8; i++)
        data[i] ^= 0x5a;
    write_bytes(path, data, size);
    free(data);
}

static void corrupt_garbage(const char *path) {
    float noise[1024];
    ts_fill_random(noise, 1024, 1234, -1e6f, 1e6f);
    write_bytes(path, (const unsigned char *)noise, sizeof noise);
}

static void corrupt_empty(const char *path) {
    write_bytes(path, (const unsigned char *)"", 0);
}

static void check_corruption_recovered(const char *dir, corruptor corrupt) {
    clcnn_context *ctx = cache_context(dir, CLCNN_CACHE_ON);
    get_util(ctx, NULL);
    clcnn_context_destroy(ctx);
    char *path = ts_dir_find(dir, ".bin");
    assert_non_null(path);
    corrupt(path);

    ctx = cache_context(dir, CLCNN_CACHE_ON);
    get_util(ctx, NULL);
    ASSERT_CACHE_STATS(ctx, 0, 0, 1, 1);
    ts_check_copy_float4(ctx, NULL, 7);
    clcnn_context_destroy(ctx);
    assert_cache_files(dir, 1);
    assert_true(file_size(path) > 0);

    /* The file was written again, valid. */
    ctx = cache_context(dir, CLCNN_CACHE_ON);
    get_util(ctx, NULL);
    ASSERT_CACHE_STATS(ctx, 0, 1, 0, 0);
    ts_check_copy_float4(ctx, NULL, 7);
    clcnn_context_destroy(ctx);
    free(path);
}

static void test_truncated_file(void **state) {
    check_corruption_recovered(((dirs *)*state)->dir, corrupt_truncate);
}

static void test_flipped_bytes(void **state) {
    check_corruption_recovered(((dirs *)*state)->dir, corrupt_flip_middle);
}

static void test_garbage_file(void **state) {
    check_corruption_recovered(((dirs *)*state)->dir, corrupt_garbage);
}

static void test_empty_file(void **state) {
    check_corruption_recovered(((dirs *)*state)->dir, corrupt_empty);
}

/* A valid cache file of other build options, under this program's name (a
 * hash collision): refused, rebuilt. */
static void test_file_of_other_key(void **state) {
    char *dir_one = ((dirs *)*state)->dir, *dir_two = ((dirs *)*state)->other;
    clcnn_context *ctx = cache_context(dir_one, CLCNN_CACHE_ON);
    get_util(ctx, "-DFOO=1");
    clcnn_context_destroy(ctx);
    ctx = cache_context(dir_two, CLCNN_CACHE_ON);
    get_util(ctx, "-DFOO=2");
    clcnn_context_destroy(ctx);
    char *one = ts_dir_find(dir_one, ".bin"), *two = ts_dir_find(dir_two, ".bin");
    assert_non_null(one);
    assert_non_null(two);
    size_t size = 0;
    unsigned char *data = read_bytes(one, &size);
    write_bytes(two, data, size);
    free(data);

    ctx = cache_context(dir_two, CLCNN_CACHE_ON);
    get_util(ctx, "-DFOO=2");
    ASSERT_CACHE_STATS(ctx, 0, 0, 1, 1);
    ts_check_copy_float4(ctx, "-DFOO=2", 7);
    clcnn_context_destroy(ctx);
    free(one);
    free(two);
}

/* ------------------------------------------- a binary without the kernels */

/* The key text stored in a cache file (malloc'ed). */
static char *stored_key(const char *path) {
    size_t size = 0;
    unsigned char *data = read_bytes(path, &size);
    assert_true(size > 12);
    size_t length =
        (size_t)data[8] | (size_t)data[9] << 8 | (size_t)data[10] << 16 | (size_t)data[11] << 24;
    assert_true(12 + length < size);
    char *key = ts_malloc(length + 1);
    memcpy(key, data + 12, length);
    key[length] = '\0';
    free(data);
    return key;
}

/* The device binary of a built program (malloc'ed). */
static unsigned char *binary_of(cl_program program, size_t *size) {
    size_t sizes[1] = {0};
    assert_int_equal(clGetProgramInfo(program, CL_PROGRAM_BINARY_SIZES, sizeof sizes, sizes, NULL),
                     CL_SUCCESS);
    assert_true(sizes[0] > 0);
    unsigned char *binary = ts_malloc(sizes[0]);
    unsigned char *binaries[1] = {binary};
    assert_int_equal(
        clGetProgramInfo(program, CL_PROGRAM_BINARIES, sizeof binaries, binaries, NULL),
        CL_SUCCESS);
    *size = sizes[0];
    return binary;
}

/* A valid binary of another program stored under util.cl's key: the driver
 * loads it, but util.cl's kernels are not in it. The file is dropped and the
 * program rebuilt from source, in the same call; the next run loads the
 * rebuilt file. */
static void test_binary_without_the_kernels(void **state) {
    char *dir = ((dirs *)*state)->dir;
    clcnn_context *ctx = cache_context(dir, CLCNN_CACHE_ON);
    get_util(ctx, "-DPLANTED=1");
    char *util_path = ts_dir_find(dir, ".bin");
    assert_non_null(util_path);
    clcnn__cache_key key = {stored_key(util_path), ""};
    snprintf(key.file_name, sizeof key.file_name, "%s", strrchr(util_path, '/') + 1);
    cl_program other = NULL;
    TS_ASSERT_OK(ctx, clcnn__program_build_source(
                          ctx, "other.cl",
                          "__kernel void other_kernel(__global float *x) { x[0] = 1.0f; }\n", NULL,
                          &other));
    size_t size = 0;
    unsigned char *binary = binary_of(other, &size);
    clReleaseProgram(other);
    clcnn__disk_cache_store(ctx, &key, binary, size);
    assert_int_equal(cache_stats(ctx).disk_write_failures, 0);
    clcnn_context_destroy(ctx);

    ctx = cache_context(dir, CLCNN_CACHE_ON);
    cl_kernel kernel = NULL;
    TS_ASSERT_OK(ctx, clcnn__kernel_get(ctx, "util.cl", "-DPLANTED=1", "copy_float4", &kernel));
    assert_non_null(kernel);
    ASSERT_CACHE_STATS(ctx, 0, 1, 1, 1); /* loaded, found wanting, rebuilt */
    ts_check_copy_float4(ctx, "-DPLANTED=1", 7);
    clcnn_context_destroy(ctx);

    ctx = cache_context(dir, CLCNN_CACHE_ON);
    TS_ASSERT_OK(ctx, clcnn__kernel_get(ctx, "util.cl", "-DPLANTED=1", "copy_float4", &kernel));
    ASSERT_CACHE_STATS(ctx, 0, 1, 0, 0);
    clcnn_context_destroy(ctx);
    free(binary);
    free(key.text);
    free(util_path);
}

/* ---------------------------------------------------------- untrusted files */

static char *cache_file(const char *dir) {
    char *path = ts_dir_find(dir, ".bin");
    assert_non_null(path);
    return path;
}

/* Builds util.cl into the cache in dir and returns its file (malloc'ed). */
static char *fill_cache(const char *dir) {
    clcnn_context *ctx = cache_context(dir, CLCNN_CACHE_ON);
    get_util(ctx, NULL);
    clcnn_context_destroy(ctx);
    return cache_file(dir);
}

/* A context on dir builds util.cl from source instead of loading the file,
 * and counts one refusal whose reason names `what` and says `why`. Not an
 * error: the last error stays empty. */
static void expect_refused(const char *dir, const char *what, const char *why) {
    clcnn_context *ctx = cache_context(dir, CLCNN_CACHE_ON);
    get_util(ctx, NULL);
    ASSERT_CACHE_STATS(ctx, 0, 0, 1, 0);
    clcnn_cache_stats stats = cache_stats(ctx);
    assert_int_equal(stats.disk_untrusted, 1);
    TS_ASSERT_CONTAINS(stats.untrusted_reason, what);
    TS_ASSERT_CONTAINS(stats.untrusted_reason, why);
    ts_check_copy_float4(ctx, NULL, 7);
    assert_string_equal(clcnn_context_last_error(ctx), "");
    clcnn_context_destroy(ctx);
}

/* A context on dir loads util.cl from the cache, refusing nothing. */
static void expect_loaded(const char *dir) {
    clcnn_context *ctx = cache_context(dir, CLCNN_CACHE_ON);
    get_util(ctx, NULL);
    ASSERT_CACHE_STATS(ctx, 0, 1, 0, 0);
    assert_int_equal(cache_stats(ctx).disk_untrusted, 0);
    assert_string_equal(cache_stats(ctx).untrusted_reason, "");
    clcnn_context_destroy(ctx);
}

static unsigned mode_of(const char *path) {
    struct stat info;
    assert_int_equal(lstat(path, &info), 0);
    return (unsigned)(info.st_mode & 07777);
}

/* Directories the cache makes are private to the user, and so are its
 * files. */
static void test_made_private(void **state) {
    char *dir = ((dirs *)*state)->dir;
    size_t size = strlen(dir) + 32;
    char *a = ts_malloc(size), *ab = ts_malloc(size);
    snprintf(a, size, "%s/a", dir);
    snprintf(ab, size, "%s/a/b", dir);
    char *file = fill_cache(ab);
    assert_int_equal(mode_of(a), 0700);
    assert_int_equal(mode_of(ab), 0700);
    assert_int_equal(mode_of(file), 0600);
    expect_loaded(ab);
    free(a), free(ab), free(file);
}

/* A FIFO in place of a cache file: refused at once (opening it must not
 * block; the alarm fails the test if it does), then replaced. */
static void test_fifo_refused(void **state) {
    char *dir = ((dirs *)*state)->dir;
    char *file = fill_cache(dir);
    assert_int_equal(unlink(file), 0);
    assert_int_equal(mkfifo(file, 0600), 0);
    alarm(120);
    expect_refused(dir, file, "not a regular file");
    alarm(0);
    assert_int_equal(mode_of(file), 0600); /* a regular file again */
    expect_loaded(dir);
    free(file);
}

/* A symbolic link in place of a cache file is not followed. */
static void test_link_refused(void **state) {
    char *dir = ((dirs *)*state)->dir;
    char *file = fill_cache(dir);
    size_t size = strlen(file) + 8;
    char *moved = ts_malloc(size);
    snprintf(moved, size, "%s.real", file);
    assert_int_equal(rename(file, moved), 0);
    assert_int_equal(symlink(moved, file), 0);
    expect_refused(dir, file, "symbolic link");
    expect_loaded(dir);
    free(moved), free(file);
}

/* A cache directory that others or the group may write: nothing in it is
 * loaded, whoever wrote it. */
static void test_writable_dir_refused(void **state) {
    char *dir = ((dirs *)*state)->dir;
    char *file = fill_cache(dir);
    assert_int_equal(chmod(dir, 0777), 0);
    expect_refused(dir, dir, "writable by others");
    assert_int_equal(chmod(dir, 0770), 0);
    expect_refused(dir, dir, "writable by its group");
    assert_int_equal(chmod(dir, 0755), 0);
    expect_loaded(dir);
    free(file);
}

/* A cache file that others or the group may write is refused, and replaced
 * by a private one. */
static void test_writable_file_refused(void **state) {
    char *dir = ((dirs *)*state)->dir;
    char *file = fill_cache(dir);
    assert_int_equal(chmod(file, 0666), 0);
    expect_refused(dir, file, "writable by others");
    assert_int_equal(mode_of(file), 0600);
    assert_int_equal(chmod(file, 0620), 0);
    expect_refused(dir, file, "writable by its group");
    expect_loaded(dir);
    free(file);
}

/* Root only: a file or a directory owned by another user (nobody, 65534) is
 * refused. */
static void test_other_owner_refused(void **state) {
    char *dir = ((dirs *)*state)->dir;
    char *file = fill_cache(dir);
    assert_int_equal(chown(file, 65534, 65534), 0);
    expect_refused(dir, file, "owned by uid 65534");
    expect_loaded(dir); /* replaced by the process's own file */
    assert_int_equal(chown(dir, 65534, 65534), 0);
    expect_refused(dir, dir, "owned by uid 65534");
    assert_int_equal(chown(dir, geteuid(), getegid()), 0);
    expect_loaded(dir);
    free(file);
}

/* ----------------------------------------------------- unwritable directory */

static void test_unwritable_dir(void **state) {
    char *dir = ((dirs *)*state)->dir;
    size_t size = strlen(dir) + 32;
    char *blocker = ts_malloc(size), *below = ts_malloc(size);
    snprintf(blocker, size, "%s/afile", dir);
    snprintf(below, size, "%s/afile/sub", dir);
    write_bytes(blocker, (const unsigned char *)"x", 1);

    clcnn_context *ctx = cache_context(below, CLCNN_CACHE_ON);
    get_util(ctx, NULL);
    ASSERT_CACHE_STATS(ctx, 0, 0, 1, 0);
    assert_true(cache_stats(ctx).disk_write_failures >= 1);
    /* Why, with the path and the system's words. */
    TS_ASSERT_CONTAINS(cache_stats(ctx).write_failure_reason, below);
    TS_ASSERT_CONTAINS(cache_stats(ctx).write_failure_reason, strerror(ENOTDIR));
    ts_check_copy_float4(ctx, NULL, 7);
    assert_string_equal(clcnn_context_last_error(ctx), "");
    clcnn_context_destroy(ctx);
    assert_int_equal(ts_dir_count(dir, ""), 1); /* just afile */
    free(blocker);
    free(below);
}

/* ------------------------------------------------------------ switching off */

static void test_cache_env_off(void **state) {
    char *dir = ((dirs *)*state)->dir;
    ts_saved_env saved;
    ts_env_set(&saved, "CLCNN_CACHE", "0");
    clcnn_context_options options = clcnn_context_options_default();
    options.cache_dir = dir;
    clcnn_context *ctx = ts_context_create_with(&options);
    get_util(ctx, NULL);
    ASSERT_CACHE_STATS(ctx, 0, 0, 1, 0);
    clcnn_context_destroy(ctx);
    assert_cache_files(dir, 0);

    /* CLCNN_CACHE_ON overrides the variable. */
    ctx = cache_context(dir, CLCNN_CACHE_ON);
    ts_env_restore(&saved);
    get_util(ctx, NULL);
    clcnn_context_destroy(ctx);
    assert_cache_files(dir, 1);
}

static void test_cache_option_off(void **state) {
    char *dir = ((dirs *)*state)->dir;
    ts_saved_env saved;
    ts_env_set(&saved, "CLCNN_CACHE", NULL);
    clcnn_context *ctx = cache_context(dir, CLCNN_CACHE_OFF);
    ts_env_restore(&saved);
    get_util(ctx, NULL);
    get_util(ctx, NULL);
    ASSERT_CACHE_STATS(ctx, 1, 0, 1, 0);
    clcnn_context_destroy(ctx);
    assert_cache_files(dir, 0);
}

/* With no cache_dir option: $CLCNN_CACHE_DIR, else $XDG_CACHE_HOME/clcnn,
 * else $HOME/.cache/clcnn. */
static void test_cache_dir_from_environment(void **state) {
    char *dir = ((dirs *)*state)->dir;
    size_t size = strlen(dir) + 32;
    char *xdg = ts_malloc(size), *home = ts_malloc(size);
    snprintf(xdg, size, "%s/clcnn", dir);
    snprintf(home, size, "%s/.cache/clcnn", dir);
    ts_saved_env cache_dir, xdg_home, home_env;

    ts_env_set(&cache_dir, "CLCNN_CACHE_DIR", dir);
    clcnn_context *ctx = cache_context(NULL, CLCNN_CACHE_ON);
    ts_env_restore(&cache_dir);
    get_util(ctx, "-DWHERE=1");
    clcnn_context_destroy(ctx);
    assert_int_equal(ts_dir_count(dir, ".bin"), 1);

    ts_env_set(&cache_dir, "CLCNN_CACHE_DIR", NULL);
    ts_env_set(&xdg_home, "XDG_CACHE_HOME", dir);
    ctx = cache_context(NULL, CLCNN_CACHE_ON);
    ts_env_restore(&xdg_home);
    ts_env_set(&xdg_home, "XDG_CACHE_HOME", NULL);
    ts_env_set(&home_env, "HOME", dir);
    clcnn_context *home_ctx = cache_context(NULL, CLCNN_CACHE_ON);
    ts_env_restore(&home_env);
    ts_env_restore(&xdg_home);
    ts_env_restore(&cache_dir);

    get_util(ctx, "-DWHERE=2");
    clcnn_context_destroy(ctx);
    assert_int_equal(ts_dir_count(xdg, ".bin"), 1);
    get_util(home_ctx, "-DWHERE=3");
    clcnn_context_destroy(home_ctx);
    assert_int_equal(ts_dir_count(home, ".bin"), 1);
    free(xdg);
    free(home);
}

/* ------------------------------------------------------------ build options */

static void test_options_separate_entries(void **state) {
    char *dir = ((dirs *)*state)->dir;
    clcnn_context *ctx = cache_context(dir, CLCNN_CACHE_ON);
    get_util(ctx, "-DFOO=1");
    get_util(ctx, "-DFOO=2");
    ASSERT_CACHE_STATS(ctx, 0, 0, 2, 0);
    assert_cache_files(dir, 2);
    get_util(ctx, "-DFOO=1");
    get_util(ctx, "-DFOO=2");
    ASSERT_CACHE_STATS(ctx, 2, 0, 2, 0);
    get_util(ctx, NULL); /* no options is a third program */
    ASSERT_CACHE_STATS(ctx, 2, 0, 3, 0);
    assert_cache_files(dir, 3);
    clcnn_context_destroy(ctx);

    ctx = cache_context(dir, CLCNN_CACHE_ON);
    get_util(ctx, "-DFOO=2");
    get_util(ctx, "-DFOO=1");
    ASSERT_CACHE_STATS(ctx, 0, 2, 0, 0);
    clcnn_context_destroy(ctx);
}

/* --------------------------------------------------------- prepare_programs */

/* The programs prepare_programs builds: *.cl except the test kernels. */
static int is_library_program(const char *name) {
    size_t length = strlen(name);
    int is_test = length > 8 && strcmp(name + length - 8, "_test.cl") == 0;
    return length > 3 && strcmp(name + length - 3, ".cl") == 0 && !is_test;
}

static void test_prepare_programs(void **state) {
    size_t programs = 0;
    for (size_t i = 0; i < clcnn__embedded_source_count; i++)
        programs += is_library_program(clcnn__embedded_sources[i].name);
    assert_true(programs >= 1);
    assert_non_null(clcnn__find_embedded_source("util.cl"));

    char *dir = ((dirs *)*state)->dir;
    clcnn_context *ctx = cache_context(dir, CLCNN_CACHE_ON);
    TS_ASSERT_OK(ctx, clcnn_context_prepare_programs(ctx));
    clcnn_cache_stats prepared = cache_stats(ctx);
    assert_true(prepared.builds >= programs);
    assert_int_equal(prepared.disk_hits, 0);
    assert_true(ts_dir_count(dir, ".bin") >= programs);
    /* Every embedded program is now in the memory cache. */
    for (size_t i = 0; i < clcnn__embedded_source_count; i++) {
        const char *name = clcnn__embedded_sources[i].name;
        if (!is_library_program(name))
            continue;
        cl_program program = NULL;
        TS_ASSERT_OK(ctx, clcnn__program_get(ctx, name, NULL, &program));
        assert_non_null(program);
    }
    clcnn_cache_stats after = cache_stats(ctx);
    assert_int_equal(after.builds, prepared.builds);
    assert_int_equal(after.memory_hits, prepared.memory_hits + programs);
    clcnn_context_destroy(ctx);

    /* A second context loads them all from disk. */
    ctx = cache_context(dir, CLCNN_CACHE_ON);
    TS_ASSERT_OK(ctx, clcnn_context_prepare_programs(ctx));
    clcnn_cache_stats again = cache_stats(ctx);
    assert_int_equal(again.builds, 0);
    assert_int_equal(again.disk_hits, prepared.builds);
    clcnn_context_destroy(ctx);
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_context_prepare_programs(NULL));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_build_failure_reports_log, make_dirs, remove_dirs),
        cmocka_unit_test(test_missing_source_and_kernel),
        cmocka_unit_test_setup_teardown(test_memory_and_disk_hits, make_dirs, remove_dirs),
        cmocka_unit_test_setup_teardown(test_truncated_file, make_dirs, remove_dirs),
        cmocka_unit_test_setup_teardown(test_flipped_bytes, make_dirs, remove_dirs),
        cmocka_unit_test_setup_teardown(test_garbage_file, make_dirs, remove_dirs),
        cmocka_unit_test_setup_teardown(test_empty_file, make_dirs, remove_dirs),
        cmocka_unit_test_setup_teardown(test_file_of_other_key, make_dirs, remove_dirs),
        cmocka_unit_test_setup_teardown(test_unwritable_dir, make_dirs, remove_dirs),
        cmocka_unit_test_setup_teardown(test_cache_env_off, make_dirs, remove_dirs),
        cmocka_unit_test_setup_teardown(test_cache_option_off, make_dirs, remove_dirs),
        cmocka_unit_test_setup_teardown(test_cache_dir_from_environment, make_dirs, remove_dirs),
        cmocka_unit_test_setup_teardown(test_options_separate_entries, make_dirs, remove_dirs),
        cmocka_unit_test_setup_teardown(test_prepare_programs, make_dirs, remove_dirs),
        cmocka_unit_test_setup_teardown(test_binary_without_the_kernels, make_dirs, remove_dirs),
        cmocka_unit_test_setup_teardown(test_made_private, make_dirs, remove_dirs),
        cmocka_unit_test_setup_teardown(test_fifo_refused, make_dirs, remove_dirs),
        cmocka_unit_test_setup_teardown(test_link_refused, make_dirs, remove_dirs),
        cmocka_unit_test_setup_teardown(test_writable_dir_refused, make_dirs, remove_dirs),
        cmocka_unit_test_setup_teardown(test_writable_file_refused, make_dirs, remove_dirs),
    };
    /* Giving a file to another user needs root. */
    const struct CMUnitTest root_tests[] = {
        cmocka_unit_test_setup_teardown(test_other_owner_refused, make_dirs, remove_dirs),
    };
    int failures = cmocka_run_group_tests(tests, NULL, NULL);
    if (geteuid() == 0)
        failures += cmocka_run_group_tests_name("as root", root_tests, NULL, NULL);
    return failures;
}
