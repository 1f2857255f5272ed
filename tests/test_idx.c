/* IDX reader: valid files of every element type, raw and gzip, the real
 * Fashion-MNIST files, a set of malformed files that must each fail
 * with their exact status, and file errors that carry the system's reason. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "support/test_support.h"

#include "clcnn/idx.h"

typedef struct bytes {
    unsigned char data[256];
    size_t size;
} bytes;

static void put(bytes *b, const void *data, size_t size) {
    assert_true(b->size + size <= sizeof b->data);
    memcpy(b->data + b->size, data, size);
    b->size += size;
}

static void put_header(bytes *b, unsigned type, unsigned ndim, const unsigned *dims) {
    unsigned char magic[4] = {0, 0, (unsigned char)type, (unsigned char)ndim};
    put(b, magic, 4);
    for (unsigned i = 0; i < ndim; i++) {
        unsigned char d[4] = {(unsigned char)(dims[i] >> 24), (unsigned char)(dims[i] >> 16),
                              (unsigned char)(dims[i] >> 8), (unsigned char)dims[i]};
        put(b, d, 4);
    }
}

static clcnn_status parse(const bytes *b, clcnn_idx **out, char *error, size_t error_size) {
    return clcnn_idx_parse(b->data, b->size, error, error_size, out);
}

static void test_u8_3d(void **state) {
    (void)state;
    bytes b = {0};
    unsigned dims[3] = {2, 3, 2};
    put_header(&b, CLCNN_IDX_U8, 3, dims);
    for (unsigned char i = 0; i < 12; i++)
        put(&b, &i, 1);
    clcnn_idx *idx = NULL;
    char error[256];
    TS_ASSERT_OK(NULL, parse(&b, &idx, error, sizeof error));
    assert_int_equal(idx->type, CLCNN_IDX_U8);
    assert_int_equal(idx->ndim, 3);
    assert_int_equal(idx->dims[0], 2);
    assert_int_equal(idx->dims[1], 3);
    assert_int_equal(idx->dims[2], 2);
    assert_int_equal(idx->count, 12);
    for (int i = 0; i < 12; i++)
        assert_int_equal(((unsigned char *)idx->data)[i], i);
    clcnn_idx_destroy(idx);
}

/* Multi-byte elements are big-endian in the file and native in memory. */
static void test_wide_types(void **state) {
    (void)state;
    unsigned dims[1] = {2};
    bytes b16 = {0}, b32 = {0}, bf = {0};
    put_header(&b16, CLCNN_IDX_I16, 1, dims);
    put(&b16, "\xff\xfe\x01\x02", 4); /* -2, 258 */
    put_header(&b32, CLCNN_IDX_I32, 1, dims);
    put(&b32, "\x00\x01\x00\x00\xff\xff\xff\xff", 8); /* 65536, -1 */
    put_header(&bf, CLCNN_IDX_F32, 1, dims);
    put(&bf, "\x3f\x80\x00\x00\xc0\x20\x00\x00", 8); /* 1.0, -2.5 */
    clcnn_idx *idx = NULL;
    TS_ASSERT_OK(NULL, parse(&b16, &idx, NULL, 0));
    assert_int_equal(((int16_t *)idx->data)[0], -2);
    assert_int_equal(((int16_t *)idx->data)[1], 258);
    clcnn_idx_destroy(idx);
    TS_ASSERT_OK(NULL, parse(&b32, &idx, NULL, 0));
    assert_int_equal(((int32_t *)idx->data)[0], 65536);
    assert_int_equal(((int32_t *)idx->data)[1], -1);
    clcnn_idx_destroy(idx);
    TS_ASSERT_OK(NULL, parse(&bf, &idx, NULL, 0));
    assert_true(((float *)idx->data)[0] == 1.0f);
    assert_true(((float *)idx->data)[1] == -2.5f);
    clcnn_idx_destroy(idx);
}

static void expect_corrupt(const bytes *b, clcnn_status expected, const char *phrase) {
    clcnn_idx *idx = (clcnn_idx *)&idx; /* must be reset to NULL */
    char error[256] = "";
    TS_ASSERT_STATUS(NULL, expected, parse(b, &idx, error, sizeof error));
    assert_null(idx);
    TS_ASSERT_CONTAINS(error, phrase);
}

static void test_malformed(void **state) {
    (void)state;
    unsigned dims2[2] = {2, 2}, zero[2] = {2, 0}, huge[3] = {0xffffffffu, 0xffffffffu, 0xffffffffu},
             big[2] = {65536, 65536};
    bytes empty = {0}, bad_magic = {0}, bad_type = {0}, no_dims = {0}, many_dims = {0},
          zero_dim = {0}, short_header = {0}, short_data = {0}, long_data = {0}, overflow = {0},
          lying = {0};
    put(&bad_magic, "\x01\x00\x08\x01\x00\x00\x00\x01\x07", 9);
    put_header(&bad_type, 0x07, 2, dims2);
    put(&bad_type, "abcd", 4);
    put_header(&no_dims, CLCNN_IDX_U8, 0, dims2);
    put(&many_dims, "\x00\x00\x08\x05", 4);
    put_header(&zero_dim, CLCNN_IDX_U8, 2, zero);
    put(&short_header, "\x00\x00\x08\x02\x00\x00\x00\x02\x00\x00", 10);
    put_header(&short_data, CLCNN_IDX_U8, 2, dims2);
    put(&short_data, "abc", 3);
    put_header(&long_data, CLCNN_IDX_U8, 2, dims2);
    put(&long_data, "abcde", 5);
    put_header(&overflow, CLCNN_IDX_F64, 3, huge);
    put_header(&lying, CLCNN_IDX_U8, 2, big);
    put(&lying, "abcd", 4);

    expect_corrupt(&empty, CLCNN_ERROR_CORRUPT_FILE, "truncated");
    expect_corrupt(&bad_magic, CLCNN_ERROR_CORRUPT_FILE, "not an IDX file");
    expect_corrupt(&bad_type, CLCNN_ERROR_CORRUPT_FILE, "element type 0x07");
    expect_corrupt(&no_dims, CLCNN_ERROR_CORRUPT_FILE, "0 dimensions");
    expect_corrupt(&many_dims, CLCNN_ERROR_CORRUPT_FILE, "5 dimensions");
    expect_corrupt(&zero_dim, CLCNN_ERROR_CORRUPT_FILE, "dimension 1 is 0");
    expect_corrupt(&short_header, CLCNN_ERROR_CORRUPT_FILE, "truncated");
    expect_corrupt(&short_data, CLCNN_ERROR_CORRUPT_FILE, "truncated");
    expect_corrupt(&long_data, CLCNN_ERROR_CORRUPT_FILE, "more bytes");
    expect_corrupt(&overflow, CLCNN_ERROR_SIZE_OVERFLOW, "overflow");
    expect_corrupt(&lying, CLCNN_ERROR_CORRUPT_FILE, "truncated");
}

static char *write_gzip(const char *dir, const char *name, const bytes *b) {
    char *path = ts_malloc(strlen(dir) + strlen(name) + 2);
    sprintf(path, "%s/%s", dir, name);
    gzFile f = gzopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(gzwrite(f, b->data, (unsigned)b->size), (int)b->size);
    assert_int_equal(gzclose(f), Z_OK);
    return path;
}

/* The same file gzip-compressed loads alike; its truncation or corruption
 * is reported. */
static void test_gzip_files(void **state) {
    (void)state;
    char *dir = ts_temp_dir_create();
    bytes b = {0};
    unsigned dims[2] = {10, 10};
    put_header(&b, CLCNN_IDX_U8, 2, dims);
    for (unsigned char i = 0; i < 100; i++)
        put(&b, &i, 1);
    char *path = write_gzip(dir, "ok.gz", &b);
    clcnn_idx *idx = NULL;
    char error[512];
    TS_ASSERT_OK(NULL, clcnn_idx_load(path, error, sizeof error, &idx));
    assert_int_equal(idx->count, 100);
    assert_int_equal(((unsigned char *)idx->data)[99], 99);
    clcnn_idx_destroy(idx);

    /* Cut the compressed file in half: a truncated stream. */
    FILE *f = fopen(path, "rb");
    unsigned char gz[512];
    size_t gz_size = fread(gz, 1, sizeof gz, f);
    fclose(f);
    f = fopen(path, "wb");
    fwrite(gz, 1, gz_size / 2, f);
    fclose(f);
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_CORRUPT_FILE,
                     clcnn_idx_load(path, error, sizeof error, &idx));
    assert_null(idx);
    TS_ASSERT_CONTAINS(error, path);

    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_IO,
                     clcnn_idx_load("/nonexistent/file.gz", error, sizeof error, &idx));
    TS_ASSERT_CONTAINS(error, "/nonexistent/file.gz");
    TS_ASSERT_CONTAINS(error, strerror(ENOENT));
    /* A directory opens, but reading it fails: an IO error, not a corrupt
     * stream, with the system's reason. */
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_IO, clcnn_idx_load(dir, error, sizeof error, &idx));
    assert_null(idx);
    TS_ASSERT_CONTAINS(error, dir);
    TS_ASSERT_CONTAINS(error, strerror(EISDIR));
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_idx_load(NULL, error, sizeof error, &idx));
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_idx_load(path, error, sizeof error, NULL));
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_idx_parse(NULL, 4, NULL, 0, &idx));
    clcnn_idx_destroy(NULL);
    free(path);
    ts_temp_dir_remove(dir);
}

/* Every prefix of a valid file is rejected cleanly. */
static void test_every_truncation(void **state) {
    (void)state;
    bytes b = {0};
    unsigned dims[2] = {3, 4};
    put_header(&b, CLCNN_IDX_I16, 2, dims);
    for (int i = 0; i < 24; i++)
        put(&b, "\x01", 1);
    for (size_t length = 0; length < b.size; length++) {
        clcnn_idx *idx = NULL;
        TS_ASSERT_STATUS(NULL, CLCNN_ERROR_CORRUPT_FILE,
                         clcnn_idx_parse(b.data, length, NULL, 0, &idx));
        assert_null(idx);
    }
}

/* The Fashion-MNIST files that ci/setup.sh installs from Debian. */
static void test_fashion_mnist(void **state) {
    (void)state;
    const char *dir = getenv("CLCNN_FASHION_MNIST_DIR");
    if (dir == NULL)
        dir = "/usr/share/datasets/fashion-mnist";
    char path[512], error[512];
    snprintf(path, sizeof path, "%s/t10k-images-idx3-ubyte.gz", dir);
    clcnn_idx *images = NULL, *labels = NULL;
    TS_ASSERT_OK(NULL, clcnn_idx_load(path, error, sizeof error, &images));
    assert_int_equal(images->ndim, 3);
    assert_int_equal(images->dims[0], 10000);
    assert_int_equal(images->dims[1], 28);
    assert_int_equal(images->dims[2], 28);
    snprintf(path, sizeof path, "%s/t10k-labels-idx1-ubyte.gz", dir);
    TS_ASSERT_OK(NULL, clcnn_idx_load(path, error, sizeof error, &labels));
    assert_int_equal(labels->ndim, 1);
    assert_int_equal(labels->dims[0], 10000);
    size_t per_class[10] = {0};
    for (size_t i = 0; i < labels->count; i++) {
        unsigned label = ((unsigned char *)labels->data)[i];
        assert_true(label < 10);
        per_class[label]++;
    }
    for (int c = 0; c < 10; c++)
        assert_int_equal(per_class[c], 1000); /* the test set is balanced */
    clcnn_idx_destroy(images);
    clcnn_idx_destroy(labels);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_u8_3d),
        cmocka_unit_test(test_wide_types),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_gzip_files),
        cmocka_unit_test(test_every_truncation),
        cmocka_unit_test(test_fashion_mnist),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
