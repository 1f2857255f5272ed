/* safetensors: round trips of every dtype, a file from a tiny independent
 * writer, atomic saves, file errors that carry the system's reason, and
 * malformed files that must each be rejected with CLCNN_ERROR_CORRUPT_FILE
 * (every truncation and single-byte damage of a valid file included: none
 * may crash). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "support/test_support.h"

#include "clcnn/safetensors.h"

/* A file assembled by hand: 8-byte little-endian length, header, data. */
typedef struct raw_file {
    unsigned char data[1024];
    size_t size;
} raw_file;

static void raw_make(raw_file *f, const char *header, const void *payload, size_t payload_size) {
    size_t length = strlen(header);
    assert_true(8 + length + payload_size <= sizeof f->data);
    for (int i = 0; i < 8; i++)
        f->data[i] = (unsigned char)((uint64_t)length >> (8 * i));
    memcpy(f->data + 8, header, length);
    memcpy(f->data + 8 + length, payload, payload_size);
    f->size = 8 + length + payload_size;
}

static clcnn_status raw_parse(const raw_file *f, char *error, size_t error_size,
                              clcnn_safetensors **out) {
    return clcnn_safetensors_parse(f->data, f->size, error, error_size, out);
}

/* An independent writer's file: keys in another order than their data,
 * no padding, metadata last. */
static void test_independent_writer(void **state) {
    (void)state;
    const float weight[4] = {1.5f, -2.0f, 0.25f, 8.0f};
    const int64_t count = 42;
    unsigned char payload[24];
    memcpy(payload, &count, 8); /* this test assumes a little-endian host */
    memcpy(payload + 8, weight, 16);
    raw_file f;
    raw_make(&f,
             "{\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[8,24]},"
             "\"bn.num_batches_tracked\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,8]},"
             "\"__metadata__\":{\"format\":\"pt\"}}",
             payload, sizeof payload);
    clcnn_safetensors *file = NULL;
    char error[256];
    TS_ASSERT_OK(NULL, raw_parse(&f, error, sizeof error, &file));
    assert_int_equal(clcnn_safetensors_count(file), 2);
    const clcnn_safetensors_tensor *w = clcnn_safetensors_find(file, "fc.weight");
    assert_non_null(w);
    assert_int_equal(w->dtype, CLCNN_DTYPE_F32);
    assert_int_equal(w->ndim, 2);
    assert_int_equal(w->dims[0], 2);
    assert_int_equal(w->count, 4);
    assert_memory_equal(w->data, weight, sizeof weight);
    const clcnn_safetensors_tensor *n = clcnn_safetensors_find(file, "bn.num_batches_tracked");
    assert_int_equal(n->ndim, 0);
    assert_int_equal(n->count, 1);
    assert_int_equal(*(const int64_t *)n->data, 42);
    assert_string_equal(clcnn_safetensors_metadata(file, "format"), "pt");
    assert_null(clcnn_safetensors_metadata(file, "missing"));
    assert_null(clcnn_safetensors_find(file, "missing"));
    assert_string_equal(clcnn_safetensors_at(file, 0)->name, "bn.num_batches_tracked");
    assert_null(clcnn_safetensors_at(file, 2));
    clcnn_safetensors_destroy(file);
}

static char *path_in(const char *dir, const char *name) {
    char *path = ts_malloc(strlen(dir) + strlen(name) + 2);
    sprintf(path, "%s/%s", dir, name);
    return path;
}

/* Every dtype survives save and load bit for bit, with metadata. */
static void test_round_trip(void **state) {
    (void)state;
    char *dir = ts_temp_dir_create();
    char *path = path_in(dir, "model.safetensors");
    clcnn_safetensors *file = NULL;
    TS_ASSERT_OK(NULL, clcnn_safetensors_create(&file));
    unsigned char pattern[8 * 30];
    for (size_t i = 0; i < sizeof pattern; i++)
        pattern[i] = (unsigned char)(i * 37 + 11);
    const size_t dims[3] = {2, 3, 5};
    for (int dtype = CLCNN_DTYPE_F32; dtype <= CLCNN_DTYPE_BOOL; dtype++) {
        char name[32];
        snprintf(name, sizeof name, "t.%s", clcnn_dtype_name((clcnn_dtype)dtype));
        TS_ASSERT_OK(NULL, clcnn_safetensors_add(file, name, (clcnn_dtype)dtype, 3, dims, pattern));
    }
    const size_t empty_dims[2] = {0, 4};
    TS_ASSERT_OK(NULL, clcnn_safetensors_add(file, "empty", CLCNN_DTYPE_F32, 2, empty_dims, NULL));
    TS_ASSERT_OK(NULL, clcnn_safetensors_set_metadata(file, "input_mean", "0.2860"));
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_safetensors_add(file, "t.F32", CLCNN_DTYPE_F32, 3, dims, pattern));
    TS_ASSERT_STATUS(
        NULL, CLCNN_ERROR_INVALID_ARGUMENT,
        clcnn_safetensors_add(file, "__metadata__", CLCNN_DTYPE_F32, 3, dims, pattern));
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_safetensors_add(file, "x", (clcnn_dtype)99, 3, dims, pattern));
    const size_t overflow_dims[2] = {SIZE_MAX / 2, 4};
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_SIZE_OVERFLOW,
                     clcnn_safetensors_add(file, "x", CLCNN_DTYPE_F32, 2, overflow_dims, pattern));
    char error[256];
    TS_ASSERT_OK(NULL, clcnn_safetensors_save(file, path, error, sizeof error));
    clcnn_safetensors_destroy(file);

    TS_ASSERT_OK(NULL, clcnn_safetensors_load(path, error, sizeof error, &file));
    assert_int_equal(clcnn_safetensors_count(file), CLCNN_DTYPE_BOOL + 2);
    for (int dtype = CLCNN_DTYPE_F32; dtype <= CLCNN_DTYPE_BOOL; dtype++) {
        char name[32];
        snprintf(name, sizeof name, "t.%s", clcnn_dtype_name((clcnn_dtype)dtype));
        const clcnn_safetensors_tensor *t = clcnn_safetensors_find(file, name);
        assert_non_null(t);
        assert_int_equal(t->dtype, dtype);
        assert_int_equal(t->count, 30);
        assert_int_equal(t->nbytes, 30 * clcnn_dtype_size((clcnn_dtype)dtype));
        assert_memory_equal(t->data, pattern, t->nbytes);
    }
    assert_int_equal(clcnn_safetensors_find(file, "empty")->count, 0);
    assert_string_equal(clcnn_safetensors_metadata(file, "input_mean"), "0.2860");
    clcnn_safetensors_destroy(file);
    assert_int_equal(ts_dir_count(dir, ""), 1); /* no temporary file left */
    free(path);
    ts_temp_dir_remove(dir);
}

/* A failed save leaves the previous file as it was. */
static void test_atomic_save(void **state) {
    (void)state;
    char *dir = ts_temp_dir_create();
    char *path = path_in(dir, "a.safetensors");
    char *bad_path = path_in(dir, "missing-dir/a.safetensors");
    clcnn_safetensors *file = NULL;
    TS_ASSERT_OK(NULL, clcnn_safetensors_create(&file));
    const float one = 1.0f;
    const size_t dims[1] = {1};
    TS_ASSERT_OK(NULL, clcnn_safetensors_add(file, "a", CLCNN_DTYPE_F32, 1, dims, &one));
    char error[512];
    TS_ASSERT_OK(NULL, clcnn_safetensors_save(file, path, error, sizeof error));
    TS_ASSERT_OK(NULL, clcnn_safetensors_save(file, path, error, sizeof error)); /* overwrite */
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_IO,
                     clcnn_safetensors_save(file, bad_path, error, sizeof error));
    TS_ASSERT_CONTAINS(error, "missing-dir");
    clcnn_safetensors_destroy(file);
    TS_ASSERT_OK(NULL, clcnn_safetensors_load(path, error, sizeof error, &file));
    assert_int_equal(clcnn_safetensors_count(file), 1);
    clcnn_safetensors_destroy(file);
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_IO,
                     clcnn_safetensors_load(bad_path, error, sizeof error, &file));
    assert_null(file);
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_safetensors_load(NULL, error, sizeof error, &file));
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_safetensors_create(NULL));
    clcnn_safetensors_destroy(NULL);
    free(path);
    free(bad_path);
    ts_temp_dir_remove(dir);
}

/* A set holding one float tensor of `count` elements. */
static clcnn_safetensors *set_of_floats(size_t count) {
    clcnn_safetensors *file = NULL;
    TS_ASSERT_OK(NULL, clcnn_safetensors_create(&file));
    float *values = ts_random_floats(count, 7, -1.0f, 1.0f);
    const size_t dims[1] = {count};
    TS_ASSERT_OK(NULL, clcnn_safetensors_add(file, "w", CLCNN_DTYPE_F32, 1, dims, values));
    free(values);
    return file;
}

/* Saving fails with CLCNN_ERROR_IO and a message naming the path and the
 * system's reason. */
static void expect_save_error(const clcnn_safetensors *file, const char *path, const char *reason) {
    char error[512] = "";
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_IO, clcnn_safetensors_save(file, path, error, sizeof error));
    TS_ASSERT_CONTAINS(error, path);
    TS_ASSERT_CONTAINS(error, reason);
}

/* Every way a save can fail says why, with the system's words: the target
 * is a directory, its parent is a file, the disk refuses the bytes; a
 * device or FIFO is never replaced. No temporary file is left behind. */
static void test_save_errors_say_why(void **state) {
    (void)state;
    char *dir = ts_temp_dir_create();
    char *sub = path_in(dir, "sub"), *plain = path_in(dir, "plain");
    char *below_plain = path_in(plain, "x.safetensors"), *fifo = path_in(dir, "fifo");
    char *good = path_in(dir, "good.safetensors");
    assert_int_equal(mkdir(sub, 0700), 0);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    clcnn_safetensors *file = set_of_floats(4096);
    char error[512];
    TS_ASSERT_OK(NULL, clcnn_safetensors_save(file, plain, error, sizeof error));

    expect_save_error(file, sub, strerror(EISDIR));
    expect_save_error(file, below_plain, strerror(ENOTDIR));
    expect_save_error(file, fifo, "not a regular file");
    struct stat info;
    assert_int_equal(stat(fifo, &info), 0);
    assert_true(S_ISFIFO(info.st_mode)); /* still the FIFO */

    /* A write the system refuses (here the file size limit, EFBIG; a full
     * disk fails the same write with ENOSPC): the previous file stays. */
    clcnn_safetensors *small = set_of_floats(4);
    TS_ASSERT_OK(NULL, clcnn_safetensors_save(small, good, error, sizeof error));
    struct rlimit saved_limit, limit;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved_limit), 0);
    limit = saved_limit;
    limit.rlim_cur = 1024;
    void (*saved_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &limit), 0);
    clcnn_status status = clcnn_safetensors_save(file, good, error, sizeof error);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved_limit), 0);
    signal(SIGXFSZ, saved_handler);
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_IO, status);
    TS_ASSERT_CONTAINS(error, good);
    TS_ASSERT_CONTAINS(error, "cannot write");
    TS_ASSERT_CONTAINS(error, strerror(EFBIG));
    clcnn_safetensors *back = NULL;
    TS_ASSERT_OK(NULL, clcnn_safetensors_load(good, error, sizeof error, &back));
    assert_int_equal(clcnn_safetensors_find(back, "w")->count, 4);
    clcnn_safetensors_destroy(back);
    /* plain, sub, fifo, good: no temporary file left by any failure */
    assert_int_equal(ts_dir_count(dir, ""), 4);

    clcnn_safetensors_destroy(file);
    clcnn_safetensors_destroy(small);
    free(sub), free(plain), free(below_plain), free(fifo), free(good);
    ts_temp_dir_remove(dir);
}

/* Loading says why too: a directory, a missing file. */
static void test_load_errors_say_why(void **state) {
    (void)state;
    char *dir = ts_temp_dir_create();
    char *missing = path_in(dir, "missing.safetensors");
    clcnn_safetensors *file = NULL;
    char error[512];
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_IO, clcnn_safetensors_load(dir, error, sizeof error, &file));
    TS_ASSERT_CONTAINS(error, dir);
    TS_ASSERT_CONTAINS(error, strerror(EISDIR));
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_IO,
                     clcnn_safetensors_load(missing, error, sizeof error, &file));
    TS_ASSERT_CONTAINS(error, missing);
    TS_ASSERT_CONTAINS(error, strerror(ENOENT));
    assert_null(file);
    free(missing);
    ts_temp_dir_remove(dir);
}

static void expect_rejected(const char *header, size_t payload_size, const char *phrase) {
    static const unsigned char payload[64] = {0};
    raw_file f;
    raw_make(&f, header, payload, payload_size);
    clcnn_safetensors *file = (clcnn_safetensors *)&f; /* must be reset to NULL */
    char error[256] = "";
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_CORRUPT_FILE, raw_parse(&f, error, sizeof error, &file));
    assert_null(file);
    TS_ASSERT_CONTAINS(error, phrase);
}

#define T(rest) "{\"a\":{" rest "}}"

static void test_malformed_headers(void **state) {
    (void)state;
    expect_rejected("{\"a\":", 0, "not valid JSON");
    expect_rejected("[1,2]", 0, "not a JSON object");
    expect_rejected(T("\"dtype\":\"F8\",\"shape\":[1],\"data_offsets\":[0,1]"), 1,
                    "unknown dtype F8");
    expect_rejected(T("\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]"), 4, "unknown dtype");
    expect_rejected(T("\"dtype\":\"F32\",\"shape\":1,\"data_offsets\":[0,4]"), 4, "shape must be");
    expect_rejected(T("\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]"), 4, "dimension 0");
    expect_rejected(T("\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]"), 4,
                    "dimension 0");
    expect_rejected(T("\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]"), 4,
                    "at most");
    expect_rejected(T("\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]"), 4, "[begin, end]");
    expect_rejected(T("\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]"), 4, "outside");
    expect_rejected(T("\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,8]"), 4, "outside");
    expect_rejected(T("\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]"), 4, "span 4 bytes");
    expect_rejected(T("\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]"),
                    4, "overflow");
    expect_rejected(T("\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1"), 4,
                    "expected an object");
    expect_rejected(T("\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]"), 8,
                    "cover 4 of the 8");
    expect_rejected("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                    "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[2,6]}}",
                    6, "overlap");
    expect_rejected("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                    "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
                    12, "hole");
    expect_rejected("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                    "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                    8, "not valid JSON");
    expect_rejected("{\"__metadata__\":{\"k\":1}}", 0, "not a string");
    expect_rejected("{\"__metadata__\":[]}", 0, "must be an object");
}

static void test_bad_lengths(void **state) {
    (void)state;
    unsigned char tiny[7] = {0};
    clcnn_safetensors *file = NULL;
    char error[256];
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_CORRUPT_FILE,
                     clcnn_safetensors_parse(tiny, sizeof tiny, error, sizeof error, &file));
    TS_ASSERT_CONTAINS(error, "truncated");
    unsigned char beyond[16] = {200, 0, 0, 0, 0, 0, 0, 0, '{', '}'};
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_CORRUPT_FILE,
                     clcnn_safetensors_parse(beyond, sizeof beyond, error, sizeof error, &file));
    TS_ASSERT_CONTAINS(error, "header length 200");
    unsigned char huge[16] = {0, 0, 0, 0, 0, 0, 0, 0x80, '{', '}'};
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_CORRUPT_FILE,
                     clcnn_safetensors_parse(huge, sizeof huge, error, sizeof error, &file));
    assert_null(file);
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_safetensors_parse(NULL, 8, error, sizeof error, &file));
}

/* Every prefix of a valid file fails cleanly; every single-byte change
 * either parses or fails cleanly (run under ASan, a crash or an
 * out-of-bounds read fails the suite). */
static void test_every_truncation_and_flip(void **state) {
    (void)state;
    const float data[3] = {1, 2, 3};
    raw_file f;
    raw_make(&f,
             "{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]},"
             "\"__metadata__\":{\"m\":\"v\"}}",
             data, sizeof data);
    clcnn_safetensors *file = NULL;
    for (size_t length = 0; length < f.size; length++) {
        TS_ASSERT_STATUS(NULL, CLCNN_ERROR_CORRUPT_FILE,
                         clcnn_safetensors_parse(f.data, length, NULL, 0, &file));
        assert_null(file);
    }
    for (size_t i = 0; i < f.size; i++) {
        for (unsigned bit = 0; bit < 8; bit++) {
            raw_file damaged = f;
            damaged.data[i] ^= (unsigned char)(1u << bit);
            clcnn_status status = raw_parse(&damaged, NULL, 0, &file);
            assert_true(status == CLCNN_OK || status == CLCNN_ERROR_CORRUPT_FILE);
            assert_true((status == CLCNN_OK) == (file != NULL));
            clcnn_safetensors_destroy(file);
        }
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_independent_writer),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_atomic_save),
        cmocka_unit_test(test_malformed_headers),
        cmocka_unit_test(test_bad_lengths),
        cmocka_unit_test(test_every_truncation_and_flip),
        cmocka_unit_test(test_save_errors_say_why),
        cmocka_unit_test(test_load_errors_say_why),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
