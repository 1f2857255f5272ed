/* The random crop and flip against the host reference in
 * tests/ref/augment_ref.c, which draws the same Philox words from
 * tests/ref/philox_ref.c: bit for bit on awkward shapes (batch 1, one
 * pixel, odd sizes, padding wider than the image, no padding), flip
 * probabilities 0, 1 and between, 64-bit seeds, epochs and sample indices
 * whose high words matter; a sample's result is the same whatever its
 * place in a batch; other epochs and seeds draw otherwise; the offsets are
 * uniform and the flips as frequent as asked over many samples (read back
 * from the device's output); every bad argument with its exact status.
 * CLCNN_TEST_SMALL (or an Oclgrind device) keeps every case small. */
#include "support/test_support.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clcnn/augment.h"
#include "ref/augment_ref.h"
#include "ref/philox_ref.h"

typedef struct augment_case {
    size_t n, c, h, w, pad;
    float flip_probability;
    uint64_t seed, epoch, first;
} augment_case;

static const augment_case small_cases[] = {
    {1, 1, 28, 28, 2, 0.5f, 1, 0, 0},
    {5, 3, 7, 9, 3, 0.5f, 0x123456789abcdef0ull, (1ull << 33) + 5, 0xfffffffdull},
    {2, 1, 1, 1, 1, 0.5f, 7, 1, 0},
    {4, 2, 5, 6, 0, 0.5f, 8, 2, 3},   /* flips only */
    {3, 2, 3, 4, 10, 0.5f, 9, 3, 17}, /* padding wider than the image */
    {6, 1, 4, 5, 2, 0.0f, 10, 4, 0},  /* crops only */
    {6, 1, 4, 5, 2, 1.0f, 11, 5, 0},  /* always flipped */
    {9, 1, 6, 3, 1, 0.3f, 12, 6, ~0ull - 8},
};
static const augment_case large_cases[] = {
    {128, 1, 28, 28, 2, 0.5f, 2024, 7, 60000},
    {64, 3, 32, 32, 4, 0.5f, 99, 0, 0},
    {3, 2, 5, 1001, 3, 0.5f, 5, 1, 2},
};

static clcnn_augment_params params_of(const augment_case *a) {
    clcnn_augment_params p = clcnn_augment_params_default();
    p.pad = a->pad;
    p.flip_probability = a->flip_probability;
    p.seed = a->seed;
    p.epoch = a->epoch;
    p.first_sample_index = a->first;
    return p;
}

/* The device's output for a case's random image. */
static float *run_case(clcnn_context *ctx, const augment_case *a, const float *x) {
    const size_t dims[4] = {a->n, a->c, a->h, a->w};
    clcnn_tensor *tx = ts_tensor_create(ctx, 4, dims, x);
    clcnn_tensor *ty = ts_tensor_filled(ctx, 4, dims, NAN);
    clcnn_augment_params p = params_of(a);
    TS_ASSERT_OK(ctx, clcnn_augment_crop_flip(ctx, &p, tx, ty));
    float *got = ts_tensor_read_all(ty);
    clcnn_tensor_destroy(tx);
    clcnn_tensor_destroy(ty);
    return got;
}

static void check_case(clcnn_context *ctx, const augment_case *a, uint32_t seed) {
    const size_t count = a->n * a->c * a->h * a->w;
    /* Values in [1, 2): a zero of the output is padding. */
    float *x = ts_random_floats(count, seed, 1.0f, 2.0f);
    float *want = ts_malloc(count * sizeof *want);
    augment_ref_forward(a->seed, a->epoch, a->first, a->pad, a->flip_probability, a->n, a->c, a->h,
                        a->w, x, want);
    float *got = run_case(ctx, a, x);
    TS_ASSERT_FLOATS_IDENTICAL(got, want, count);
    free(got);
    free(want);
    free(x);
}

static void test_matches_reference(void **state) {
    clcnn_context *ctx = *state;
    uint32_t seed = 3;
    TS_FOR_EACH_CASE(augment_case, a, small_cases, large_cases, check_case(ctx, a, seed++));
}

/* The reference's crops are what they claim: with pad 0 and no flip the
 * output is the input; a flip with pad 0 mirrors each row. */
static void test_identity_and_mirror(void **state) {
    clcnn_context *ctx = *state;
    const augment_case same = {3, 2, 5, 7, 0, 0.0f, 1, 2, 3};
    const augment_case mirror = {3, 2, 5, 7, 0, 1.0f, 1, 2, 3};
    const size_t count = 3 * 2 * 5 * 7;
    float *x = ts_random_floats(count, 4, -1.0f, 1.0f);
    float *got = run_case(ctx, &same, x);
    TS_ASSERT_FLOATS_IDENTICAL(got, x, count);
    free(got);
    got = run_case(ctx, &mirror, x);
    for (size_t row = 0; row < count / 7; row++)
        for (size_t j = 0; j < 7; j++)
            assert_true(got[row * 7 + j] == x[row * 7 + 6 - j]);
    free(got);
    free(x);
}

/* Sample 5 of a batch from index 100 equals sample 0 of a batch from index
 * 105, and so on: the draws follow the global index, not the position. */
static void test_batch_position(void **state) {
    clcnn_context *ctx = *state;
    const size_t plane = 2 * 9 * 11;
    augment_case a = {8, 2, 9, 11, 3, 0.5f, 42, 3, 100};
    augment_case b = {3, 2, 9, 11, 3, 0.5f, 42, 3, 105};
    float *x = ts_random_floats(8 * plane, 5, 1.0f, 2.0f);
    float *got_a = run_case(ctx, &a, x);
    float *got_b = run_case(ctx, &b, x + 5 * plane);
    TS_ASSERT_FLOATS_IDENTICAL(got_b, got_a + 5 * plane, 3 * plane);
    free(got_a);
    free(got_b);
    free(x);
}

/* Count of samples whose outputs differ between two runs. */
static size_t samples_differing(const float *p, const float *q, size_t n, size_t plane) {
    size_t differ = 0;
    for (size_t s = 0; s < n; s++)
        differ += memcmp(p + s * plane, q + s * plane, plane * sizeof *p) != 0;
    return differ;
}

/* Another epoch, another seed: most samples draw otherwise; the same
 * parameters again: the same bits. */
static void test_epoch_and_seed(void **state) {
    clcnn_context *ctx = *state;
    const size_t n = 32, plane = 8 * 8;
    float *x = ts_random_floats(n * plane, 6, 1.0f, 2.0f);
    augment_case base = {32, 1, 8, 8, 2, 0.5f, 77, 4, 0};
    augment_case epoch = base, seed = base;
    epoch.epoch = 5;
    seed.seed = 78;
    float *first = run_case(ctx, &base, x), *again = run_case(ctx, &base, x);
    float *other_epoch = run_case(ctx, &epoch, x), *other_seed = run_case(ctx, &seed, x);
    TS_ASSERT_FLOATS_IDENTICAL(again, first, n * plane);
    /* 50 outcomes per sample: two draws agree with probability 1/50. */
    assert_true(samples_differing(first, other_epoch, n, plane) >= n / 2);
    assert_true(samples_differing(first, other_seed, n, plane) >= n / 2);
    /* The epoch's high word counts too. */
    epoch.epoch = base.epoch + (1ull << 32);
    float *high = run_case(ctx, &epoch, x);
    assert_true(samples_differing(first, high, n, plane) >= n / 2);
    free(high);
    free(first);
    free(again);
    free(other_epoch);
    free(other_seed);
    free(x);
}

/* Offsets and flips read back from the device's output over many samples:
 * each of the 2 pad + 1 offsets per axis about equally often, flips at the
 * asked rate (each count within 5 standard deviations), and every sample as
 * the reference drew it. The image's pixel (r, c) holds 1 + 8 r + c, so
 * the centre of an output row tells where it came from. */
static void test_statistics(void **state) {
    clcnn_context *ctx = *state;
    const size_t n = ts_small() ? 1000 : 20000, side = 8, pad = 2, plane = side * side;
    const float flip_probability = 0.3f;
    float *x = ts_malloc(n * plane * sizeof *x);
    for (size_t s = 0; s < n; s++)
        for (size_t i = 0; i < plane; i++)
            x[s * plane + i] = (float)(1 + i);
    const augment_case a = {n, 1, side, side, pad, flip_probability, 31337, 9, 1000};
    float *got = run_case(ctx, &a, x);
    size_t tops[5] = {0}, lefts[5] = {0}, flips = 0;
    for (size_t s = 0; s < n; s++) {
        /* Row 4, columns 3 and 4: inside the image for every draw. */
        const float *row = got + s * plane + 4 * side;
        const int at3 = (int)row[3] - 1, at4 = (int)row[4] - 1;
        const int flip = at4 - at3 == -1;
        assert_true(flip || at4 - at3 == 1);
        const int src_row = at3 / (int)side, src_col = at3 % (int)side;
        const int top = src_row - 4 + (int)pad, left = src_col - (flip ? 4 : 3) + (int)pad;
        assert_true(top >= 0 && top <= 4 && left >= 0 && left <= 4);
        augment_ref_draw d =
            augment_ref_sample(a.seed, a.epoch, a.first + s, pad, flip_probability);
        assert_int_equal(d.top, top);
        assert_int_equal(d.left, left);
        assert_int_equal(d.flip, flip);
        tops[top]++;
        lefts[left]++;
        flips += (size_t)flip;
    }
    const double each = (double)n / 5.0, spread = 5.0 * sqrt((double)n * 0.2 * 0.8);
    for (int k = 0; k < 5; k++) {
        assert_true(fabs((double)tops[k] - each) <= spread);
        assert_true(fabs((double)lefts[k] - each) <= spread);
    }
    const double p = flip_probability;
    assert_true(fabs((double)flips - p * (double)n) <= 5.0 * sqrt((double)n * p * (1.0 - p)));
    free(got);
    free(x);
}

/* The reference's block is words 4s .. 4s + 3 of the stream (seed, epoch)
 * of cl/philox.h's layout, as include/clcnn/augment.h documents. */
static void test_draws_are_stream_words(void **state) {
    (void)state;
    const uint64_t seed = 0xfeedface12345678ull, epoch = (3ull << 32) + 11;
    for (uint64_t s = 0; s < 50; s++) {
        const uint64_t sample = s * 0x01000193ull;
        augment_ref_draw d = augment_ref_sample(seed, epoch, sample, 3, 0.5);
        const uint32_t w0 = philox_ref_stream_word(seed, epoch, 4 * sample);
        const uint32_t w1 = philox_ref_stream_word(seed, epoch, 4 * sample + 1);
        const uint32_t w2 = philox_ref_stream_word(seed, epoch, 4 * sample + 2);
        assert_int_equal(d.top, ((uint64_t)w0 * 7) >> 32);
        assert_int_equal(d.left, ((uint64_t)w1 * 7) >> 32);
        assert_int_equal(d.flip, w2 < 0x80000000u);
    }
}

static void test_defaults(void **state) {
    (void)state;
    clcnn_augment_params p = clcnn_augment_params_default();
    assert_int_equal(p.pad, 2);
    assert_true(p.flip_probability == 0.5f);
    assert_true(p.seed == 0 && p.epoch == 0 && p.first_sample_index == 0);
}

static void test_bad_arguments(void **state) {
    clcnn_context *ctx = *state;
    const clcnn_status bad = CLCNN_ERROR_INVALID_ARGUMENT, shape = CLCNN_ERROR_INVALID_SHAPE;
    const size_t dims[4] = {3, 1, 4, 4}, other[4] = {3, 1, 4, 5}, three[3] = {3, 4, 4};
    clcnn_tensor *x = ts_tensor_filled(ctx, 4, dims, 0.0f),
                 *y = ts_tensor_filled(ctx, 4, dims, 0.0f);
    clcnn_tensor *wrong = ts_tensor_filled(ctx, 4, other, 0.0f);
    clcnn_tensor *x3 = ts_tensor_filled(ctx, 3, three, 0.0f),
                 *y3 = ts_tensor_filled(ctx, 3, three, 0.0f);
    clcnn_augment_params p = clcnn_augment_params_default();

    TS_ASSERT_OK(ctx, clcnn_augment_crop_flip(ctx, &p, x, y));
    TS_ASSERT_STATUS(NULL, bad, clcnn_augment_crop_flip(NULL, &p, x, y));
    TS_ASSERT_STATUS(ctx, bad, clcnn_augment_crop_flip(ctx, NULL, x, y));
    TS_ASSERT_STATUS(ctx, bad, clcnn_augment_crop_flip(ctx, &p, NULL, y));
    TS_ASSERT_STATUS(ctx, bad, clcnn_augment_crop_flip(ctx, &p, x, NULL));
    TS_ASSERT_STATUS(ctx, shape, clcnn_augment_crop_flip(ctx, &p, x, wrong));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "[3, 1, 4, 5]");
    TS_ASSERT_STATUS(ctx, shape, clcnn_augment_crop_flip(ctx, &p, x3, y3));
    TS_ASSERT_STATUS(ctx, bad, clcnn_augment_crop_flip(ctx, &p, x, x));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "shares memory");

    clcnn_augment_params q = p;
    q.pad = ((size_t)1 << 24) + 1;
    TS_ASSERT_STATUS(ctx, bad, clcnn_augment_crop_flip(ctx, &q, x, y));
    q.pad = (size_t)1 << 24; /* the largest allowed */
    TS_ASSERT_OK(ctx, clcnn_augment_crop_flip(ctx, &q, x, y));
    const float bad_p[] = {NAN, -0.1f, 1.5f, INFINITY};
    for (size_t i = 0; i < 4; i++) {
        q = p;
        q.flip_probability = bad_p[i];
        TS_ASSERT_STATUS(ctx, bad, clcnn_augment_crop_flip(ctx, &q, x, y));
        TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "clcnn_augment_crop_flip");
    }
    /* Three samples from 2^64 - 2 pass the last index; from 2^64 - 3 they fit. */
    q = p;
    q.first_sample_index = ~0ull - 1;
    TS_ASSERT_STATUS(ctx, bad, clcnn_augment_crop_flip(ctx, &q, x, y));
    q.first_sample_index = ~0ull - 2;
    TS_ASSERT_OK(ctx, clcnn_augment_crop_flip(ctx, &q, x, y));

    clcnn_context *other_ctx = ts_context_create();
    clcnn_tensor *o = ts_tensor_filled(other_ctx, 4, dims, 0.0f);
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_CONTEXT_MISMATCH, clcnn_augment_crop_flip(ctx, &p, o, y));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_CONTEXT_MISMATCH, clcnn_augment_crop_flip(ctx, &p, x, o));
    clcnn_tensor_destroy(o);
    clcnn_context_destroy(other_ctx);

    clcnn_tensor *tensors[] = {x, y, wrong, x3, y3};
    for (size_t i = 0; i < sizeof tensors / sizeof tensors[0]; i++)
        clcnn_tensor_destroy(tensors[i]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_reference), cmocka_unit_test(test_identity_and_mirror),
        cmocka_unit_test(test_batch_position),    cmocka_unit_test(test_epoch_and_seed),
        cmocka_unit_test(test_statistics),        cmocka_unit_test(test_draws_are_stream_words),
        cmocka_unit_test(test_defaults),          cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, ts_setup_context, ts_teardown_context);
}
