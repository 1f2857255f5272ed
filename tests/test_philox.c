/* Philox4x32 (cl/philox.h) against Random123's known-answer vectors, on the
 * device at every vector width and in the host reference (ref/philox_ref.c);
 * the stream layout against the host reference and against cuRAND's
 * documented outputs; the uint32 -> float conversion. Also runs under
 * Oclgrind. The vectors are read from tests/data at run time. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref/philox_ref.h"
#include "support/test_support.h"

/* ------------------------------------------------------------ KAT vectors */

typedef struct kat_vector {
    unsigned rounds;
    uint32_t ctr[4];
    uint32_t key[2];
    uint32_t expected[4];
} kat_vector;

typedef struct kat_set {
    kat_vector *vectors;
    size_t count;
} kat_set;

/* Every vector of philox4x32_kat.txt ("R c0 c1 c2 c3 k0 k1 -> o0 o1 o2 o3"). */
static kat_set load_kat(void) {
    char *path = ts_data_path("philox4x32_kat.txt");
    FILE *in = fopen(path, "r");
    if (in == NULL) {
        print_error("cannot open %s: %s\n", path, strerror(errno));
        free(path);
        fail();
    }
    kat_set set = {NULL, 0};
    size_t capacity = 0;
    char line[512];
    while (fgets(line, sizeof line, in) != NULL) {
        const char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '#' || *p == '\n' || *p == '\r' || *p == '\0')
            continue;
        kat_vector v;
        unsigned w[10];
        int fields = sscanf(p, "%u %x %x %x %x %x %x -> %x %x %x %x", &v.rounds, &w[0], &w[1],
                            &w[2], &w[3], &w[4], &w[5], &w[6], &w[7], &w[8], &w[9]);
        if (fields != 11) {
            print_error("%s: malformed line: %s", path, line);
            fail();
        }
        for (int i = 0; i < 4; i++) {
            v.ctr[i] = w[i];
            v.expected[i] = w[6 + i];
        }
        v.key[0] = w[4];
        v.key[1] = w[5];
        if (set.count == capacity) {
            capacity = capacity ? 2 * capacity : 64;
            set.vectors = realloc(set.vectors, capacity * sizeof *set.vectors);
            assert_non_null(set.vectors);
        }
        set.vectors[set.count++] = v;
    }
    fclose(in);
    free(path);
    /* Random123's kat_vectors (6) + old_kat_vectors (104) for philox4x32. */
    assert_int_equal(set.count, 110);
    return set;
}

static void test_kat_host_reference(void **state) {
    (void)state;
    kat_set set = load_kat();
    size_t rounds10 = 0;
    for (size_t i = 0; i < set.count; i++) {
        const kat_vector *v = &set.vectors[i];
        uint32_t out[4];
        philox_ref_block(v->ctr, v->key, v->rounds, out);
        if (memcmp(out, v->expected, sizeof out) != 0) {
            print_error("vector %zu (R=%u): got %08x %08x %08x %08x, want %08x %08x %08x %08x\n", i,
                        v->rounds, out[0], out[1], out[2], out[3], v->expected[0], v->expected[1],
                        v->expected[2], v->expected[3]);
            fail();
        }
        rounds10 += v->rounds == 10;
    }
    assert_int_equal(rounds10, 55);
    free(set.vectors);
}

/* ------------------------------------------------------- device execution */

static cl_mem make_buffer(clcnn_context *ctx, size_t bytes, void *host) {
    cl_int err;
    cl_mem mem = clCreateBuffer(ctx->cl, CL_MEM_READ_WRITE | (host ? CL_MEM_COPY_HOST_PTR : 0),
                                bytes, host, &err);
    assert_int_equal(err, CL_SUCCESS);
    return mem;
}

static void read_buffer(clcnn_context *ctx, cl_mem mem, size_t bytes, void *host) {
    assert_int_equal(clEnqueueReadBuffer(ctx->queue, mem, CL_TRUE, 0, bytes, host, 0, NULL, NULL),
                     CL_SUCCESS);
}

/* Runs the vectors with `rounds` rounds through philox_test_blocks at
 * `width` lanes and compares every word. */
static void check_kat_on_device(clcnn_context *ctx, const kat_set *set, unsigned rounds,
                                unsigned width) {
    size_t count = 0;
    for (size_t i = 0; i < set->count; i++)
        count += set->vectors[i].rounds == rounds;
    size_t padded = (count + width - 1) / width * width;
    /* Padding lanes repeat the first vector, so every lane computes defined data. */
    uint32_t *ctr = ts_malloc(4 * padded * sizeof *ctr);
    uint32_t *key = ts_malloc(2 * padded * sizeof *key);
    uint32_t *out = ts_malloc(4 * padded * sizeof *out);
    const kat_vector **order = ts_malloc(padded * sizeof *order);
    size_t n = 0;
    for (size_t i = 0; i < set->count; i++)
        if (set->vectors[i].rounds == rounds)
            order[n++] = &set->vectors[i];
    for (; n < padded; n++)
        order[n] = order[0];
    for (size_t i = 0; i < padded; i++) {
        for (int w = 0; w < 4; w++)
            ctr[w * padded + i] = order[i]->ctr[w];
        key[i] = order[i]->key[0];
        key[padded + i] = order[i]->key[1];
    }

    char options[48];
    snprintf(options, sizeof options, "-DPHILOX_TEST_VEC=%u", width);
    clcnn_kernel *kernel = ts_builtin_kernel(ctx, "philox_test.cl", options, "philox_test_blocks");
    cl_mem ctr_mem = make_buffer(ctx, 4 * padded * sizeof *ctr, ctr);
    cl_mem key_mem = make_buffer(ctx, 2 * padded * sizeof *key, key);
    cl_mem out_mem = make_buffer(ctx, 4 * padded * sizeof *out, NULL);
    TS_ASSERT_OK(ctx, clcnn_kernel_set_mem(kernel, 0, ctr_mem));
    TS_ASSERT_OK(ctx, clcnn_kernel_set_mem(kernel, 1, key_mem));
    TS_ASSERT_OK(ctx, clcnn_kernel_set_mem(kernel, 2, out_mem));
    TS_ASSERT_OK(ctx, clcnn_kernel_set_uint(kernel, 3, (uint32_t)padded));
    TS_ASSERT_OK(ctx, clcnn_kernel_set_uint(kernel, 4, rounds));
    size_t global = padded / width;
    TS_ASSERT_OK(ctx, clcnn_kernel_launch(kernel, 1, &global, NULL));
    clcnn_kernel_destroy(kernel);
    read_buffer(ctx, out_mem, 4 * padded * sizeof *out, out);

    for (size_t i = 0; i < padded; i++) {
        for (int w = 0; w < 4; w++) {
            if (out[w * padded + i] == order[i]->expected[w])
                continue;
            print_error("width %u, R=%u, vector %zu (ctr %08x %08x %08x %08x key %08x %08x): "
                        "word %d is %08x, want %08x\n",
                        width, rounds, i, order[i]->ctr[0], order[i]->ctr[1], order[i]->ctr[2],
                        order[i]->ctr[3], order[i]->key[0], order[i]->key[1], w,
                        out[w * padded + i], order[i]->expected[w]);
            fail();
        }
    }
    clReleaseMemObject(ctr_mem);
    clReleaseMemObject(key_mem);
    clReleaseMemObject(out_mem);
    free(ctr);
    free(key);
    free(out);
    free(order);
}

static void test_kat_device_all_widths(void **state) {
    clcnn_context *ctx = *state;
    kat_set set = load_kat();
    const unsigned widths[] = {1, 2, 4, 8, 16};
    for (size_t i = 0; i < sizeof widths / sizeof widths[0]; i++) {
        check_kat_on_device(ctx, &set, 10, widths[i]); /* the fixed 10-round code */
        check_kat_on_device(ctx, &set, 7, widths[i]);  /* the any-rounds loop */
    }
    free(set.vectors);
}

/* Words first .. first + count - 1 of stream (seed, offset) on the device. */
static void device_stream(clcnn_context *ctx, uint64_t seed, uint64_t offset, uint64_t first,
                          uint32_t count, uint32_t *out) {
    clcnn_kernel *kernel = ts_builtin_kernel(ctx, "philox_test.cl", NULL, "philox_test_stream");
    cl_mem out_mem = make_buffer(ctx, count * sizeof *out, NULL);
    TS_ASSERT_OK(ctx, clcnn_kernel_set_mem(kernel, 0, out_mem));
    TS_ASSERT_OK(ctx, clcnn_kernel_set_uint(kernel, 1, count));
    TS_ASSERT_OK(ctx, clcnn_kernel_set_ulong(kernel, 2, first));
    ts_kernel_set_philox_stream(ctx, kernel, 3, seed, offset);
    size_t global = count;
    TS_ASSERT_OK(ctx, clcnn_kernel_launch(kernel, 1, &global, NULL));
    clcnn_kernel_destroy(kernel);
    read_buffer(ctx, out_mem, count * sizeof *out, out);
    clReleaseMemObject(out_mem);
}

/* One worked example of cuRAND's layout: the first curand4() block after
 * curand_init(seed, subsequence, offset). */
typedef struct curand_example {
    uint64_t seed, subsequence, first;
    uint32_t words[4];
} curand_example;

/* The examples printed by tests/data/philox_examples.py into
 * philox_examples_output.txt, lines of the form
 * "seed=0x2a subseq=1 offset=0: ctr(before)=[...] key=[...] -> w0 w1 w2 w3". */
static size_t load_curand_examples(curand_example *out, size_t capacity) {
    char *path = ts_data_path("philox_examples_output.txt");
    FILE *in = fopen(path, "r");
    if (in == NULL) {
        print_error("cannot open %s: %s\n", path, strerror(errno));
        free(path);
        fail();
    }
    size_t count = 0;
    char line[512];
    while (fgets(line, sizeof line, in) != NULL) {
        const char *start = strstr(line, "seed=0x");
        const char *arrow = strstr(line, "-> ");
        if (start == NULL || arrow == NULL)
            continue;
        unsigned long long seed, subsequence, first;
        unsigned w[4];
        if (sscanf(start, "seed=%llx subseq=%llu offset=%llu", &seed, &subsequence, &first) != 3 ||
            sscanf(arrow, "-> %x %x %x %x", &w[0], &w[1], &w[2], &w[3]) != 4 || count == capacity) {
            print_error("%s: malformed or too many examples at: %s", path, line);
            fail();
        }
        out[count] = (curand_example){seed, subsequence, first, {w[0], w[1], w[2], w[3]}};
        count++;
    }
    fclose(in);
    free(path);
    return count;
}

/* The stream layout of philox.h is cuRAND's with subsequence = offset. */
static void test_stream_matches_curand_examples(void **state) {
    clcnn_context *ctx = *state;
    curand_example examples[32];
    size_t count = load_curand_examples(examples, 32);
    assert_true(count >= 6);
    for (size_t i = 0; i < count; i++) {
        uint32_t device[4];
        device_stream(ctx, examples[i].seed, examples[i].subsequence, examples[i].first, 4, device);
        for (int w = 0; w < 4; w++) {
            uint32_t host = philox_ref_stream_word(examples[i].seed, examples[i].subsequence,
                                                   examples[i].first + (uint64_t)w);
            if (device[w] != examples[i].words[w] || host != examples[i].words[w]) {
                print_error("example %zu word %d: device %08x host %08x, cuRAND %08x\n", i, w,
                            device[w], host, examples[i].words[w]);
                fail();
            }
        }
    }
}

/* Device and host agree on long runs of words, also where the block index
 * crosses 2^32 (counter word 1 takes the carry) and with 64-bit offsets. */
static void test_stream_matches_host(void **state) {
    clcnn_context *ctx = *state;
    static const struct {
        uint64_t seed, offset, first;
    } cases[] = {
        {0, 0, 0},
        {0xFFFFFFFFFFFFFFFFull, 0xFFFFFFFFFFFFFFFFull, 1},
        {2024, 3, ((uint64_t)1 << 34) - 37}, /* blocks 2^32 - 10 .. 2^32 + ... */
        {0x0123456789ABCDEFull, (uint64_t)1 << 32, 12345},
    };
    enum { COUNT = 203 };
    uint32_t device[COUNT];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        device_stream(ctx, cases[i].seed, cases[i].offset, cases[i].first, COUNT, device);
        for (uint32_t k = 0; k < COUNT; k++) {
            uint32_t host =
                philox_ref_stream_word(cases[i].seed, cases[i].offset, cases[i].first + k);
            if (device[k] != host) {
                print_error("case %zu word %llu: device %08x host %08x\n", i,
                            (unsigned long long)(cases[i].first + k), device[k], host);
                fail();
            }
        }
    }
}

/* philox_uniform_float(x) = (x >> 8) * 2^-24 exactly, in [0, 1). */
static void test_uniform_float(void **state) {
    clcnn_context *ctx = *state;
    uint32_t words[] = {0x00000000, 0x00000001, 0x000000FF, 0x00000100, 0x7FFFFFFF,
                        0x80000000, 0xFFFFFEFF, 0xFFFFFF7F, 0xFFFFFFFF, 0x9ceaf053,
                        0x77f5493b, 0x12bf50ad, 0x5742b3d7};
    enum { COUNT = sizeof words / sizeof words[0] };
    clcnn_kernel *kernel = ts_builtin_kernel(ctx, "philox_test.cl", NULL, "philox_test_uniform");
    cl_mem in_mem = make_buffer(ctx, sizeof words, words);
    cl_mem out_mem = make_buffer(ctx, COUNT * sizeof(float), NULL);
    TS_ASSERT_OK(ctx, clcnn_kernel_set_mem(kernel, 0, in_mem));
    TS_ASSERT_OK(ctx, clcnn_kernel_set_mem(kernel, 1, out_mem));
    TS_ASSERT_OK(ctx, clcnn_kernel_set_uint(kernel, 2, COUNT));
    size_t global = COUNT;
    TS_ASSERT_OK(ctx, clcnn_kernel_launch(kernel, 1, &global, NULL));
    clcnn_kernel_destroy(kernel);
    float got[COUNT];
    read_buffer(ctx, out_mem, sizeof got, got);
    float expected[COUNT];
    for (int i = 0; i < COUNT; i++) {
        expected[i] = (float)((double)(words[i] >> 8) / 16777216.0);
        assert_true(got[i] >= 0.0f && got[i] < 1.0f);
    }
    TS_ASSERT_FLOATS_IDENTICAL(got, expected, COUNT);
    assert_true(got[0] == 0.0f);
    assert_true(got[5] == 0.5f);
    assert_true(got[8] == 1.0f - 0x1.0p-24f);
    /* The "(x>>8)*2^-24" column of philox_examples_output.txt. */
    assert_true(fabsf(got[9] - 0.612959862f) <= 1e-9f);
    clReleaseMemObject(in_mem);
    clReleaseMemObject(out_mem);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kat_host_reference),
        cmocka_unit_test(test_kat_device_all_widths),
        cmocka_unit_test(test_stream_matches_curand_examples),
        cmocka_unit_test(test_stream_matches_host),
        cmocka_unit_test(test_uniform_float),
    };
    return cmocka_run_group_tests(tests, ts_setup_context, ts_teardown_context);
}
