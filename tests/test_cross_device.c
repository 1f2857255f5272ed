/* The same numbers on every device: the library's results on every OpenCL
 * device present (Oclgrind's simulator excepted: far too slow for this),
 * each under both kernel classes ("cpu" and "gpu" choices of algorithms,
 * tiles and vector widths), so that even a machine with one device compares
 * two code paths. The first configuration is the reference for the others:
 * - dropout masks, outputs and input gradients bit for bit (they are
 *   defined by integers: include/clcnn/dropout.h);
 * - the initial weights of the seed network bit for bit, then the loss and
 *   every gradient of one training step within 1e-5 (see tensors_agree);
 * - the per-step losses of a 256-image epoch (8 steps of 32, SGD with
 *   momentum as clcnn-train's default recipe) within 1e-3 relative.
 * CLCNN_CROSS_DEVICE_MIN=N fails the run unless at least N distinct devices
 * took part (CI sets it where it installs a second driver, so a missing
 * driver fails instead of passing with one device). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "support/test_support.h"

#include "clcnn/dropout.h"
#include "clcnn/net.h"
#include "clcnn/optim.h"

#define MAX_CONFIGS 32
#define CLASS_COUNT 2
static const char *const kernel_classes[CLASS_COUNT] = {"cpu", "gpu"};

/* The seed network on Fashion-MNIST-sized images. */
#define SIDE 28
#define PIXELS (SIDE * SIDE)
#define CLASSES 10
#define DROPOUT_P 0.5f
#define INIT_SEED 7

/* One training step: gradients within GRAD_RTOL of the larger magnitude,
 * plus GRAD_FLOOR times the network's largest gradient (see
 * tensors_agree). */
#define STEP_BATCH 32
#define LOSS_RTOL 1e-5
#define GRAD_RTOL 1e-5
#define GRAD_FLOOR 1e-5

/* The epoch: clcnn-train's defaults (lr 0.05, momentum 0.9, weight decay
 * 5e-4; the cosine schedule's first epoch runs at the base rate). */
#define EPOCH_IMAGES 256
#define EPOCH_BATCH 32
#define EPOCH_STEPS (EPOCH_IMAGES / EPOCH_BATCH)
#define EPOCH_LOSS_RTOL 1e-3
#define SGD_LR 0.05
#define SGD_MOMENTUM 0.9
#define SGD_WEIGHT_DECAY 5e-4

typedef struct config {
    char spec[48];            /* "P:D", for clcnn_context_options.device */
    const char *kernel_class; /* clcnn_context_options.device_class */
    char label[CLCNN_NAME_MAX + 64];
    clcnn_context *ctx;
} config;

typedef struct suite {
    config configs[MAX_CONFIGS];
    size_t count;
    size_t devices; /* distinct devices among the configurations */
} suite;

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* ------------------------------------------------------------ configurations */

static int is_oclgrind(const clcnn_device_info *info) {
    return strstr(info->platform_name, "Oclgrind") != NULL;
}

static void add_config(suite *s, const clcnn_device_info *info, const char *kernel_class) {
    assert_true(s->count < MAX_CONFIGS);
    config *c = &s->configs[s->count++];
    snprintf(c->spec, sizeof c->spec, "%zu:%zu", info->platform_index, info->device_index);
    snprintf(c->label, sizeof c->label, "%zu:%zu %s (%s kernels)", info->platform_index,
             info->device_index, info->device_name, kernel_class);
    c->kernel_class = kernel_class;
    clcnn_context_options options = clcnn_context_options_default();
    options.device = c->spec;
    options.device_class = kernel_class;
    c->ctx = ts_context_create_with(&options);
}

static int setup(void **state) {
    suite *s = ts_malloc(sizeof *s);
    memset(s, 0, sizeof *s);
    *state = s;
    clcnn_device_list *list = NULL;
    TS_ASSERT_OK(NULL, clcnn_device_list_create(&list));
    for (size_t i = 0; i < clcnn_device_list_count(list); i++) {
        clcnn_device_info info;
        TS_ASSERT_OK(NULL, clcnn_device_list_get(list, i, &info));
        if (is_oclgrind(&info)) {
            printf("skipped: %zu:%zu %s (Oclgrind's simulator)\n", info.platform_index,
                   info.device_index, info.device_name);
            continue;
        }
        for (size_t k = 0; k < CLASS_COUNT; k++)
            add_config(s, &info, kernel_classes[k]);
        s->devices++;
    }
    clcnn_device_list_destroy(list);
    for (size_t i = 0; i < s->count; i++)
        printf("configuration %zu: %s%s\n", i, s->configs[i].label, i == 0 ? " (reference)" : "");
    return 0;
}

static int teardown(void **state) {
    suite *s = *state;
    for (size_t i = 0; i < s->count; i++)
        clcnn_context_destroy(s->configs[i].ctx);
    free(s);
    return 0;
}

/* Every device gives two configurations; CLCNN_CROSS_DEVICE_MIN asks for
 * more devices. */
static void test_enough_devices(void **state) {
    const suite *s = *state;
    printf("%zu devices, %zu configurations\n", s->devices, s->count);
    assert_true(s->devices >= 1);
    assert_int_equal(s->count, CLASS_COUNT * s->devices);
    const char *minimum = getenv("CLCNN_CROSS_DEVICE_MIN");
    if (minimum == NULL || minimum[0] == '\0')
        return;
    char *end = NULL;
    unsigned long wanted = strtoul(minimum, &end, 10);
    if (*end != '\0') {
        print_error("CLCNN_CROSS_DEVICE_MIN=%s is not a number\n", minimum);
        fail();
    }
    if (s->devices < wanted) {
        print_error("CLCNN_CROSS_DEVICE_MIN=%lu but only %zu device(s) took part: is a driver "
                    "missing (rusticl needs RUSTICL_ENABLE=llvmpipe)?\n",
                    wanted, s->devices);
        fail();
    }
}

/* ------------------------------------------------------------------ dropout */

typedef struct dropout_case {
    size_t numel;
    float p;
    uint64_t seed;
    uint64_t offset;
} dropout_case;

/* Odd sizes (partial vectors and words), one over a million elements. */
static const dropout_case dropout_cases[] = {
    {1, 0.5f, 1, 0},
    {31, 0.5f, 2, 3},
    {1000, 0.1f, 3, 7},
    {4097, 0.9f, 4, 1},
    {65539, 0.5f, 0x9e3779b97f4a7c15u, 1u << 20},
    {(1u << 20) + 3, 0.3f, 5, 11},
};

typedef struct dropout_result {
    uint32_t *bits;
    float *y;
    float *dx;
    clcnn_dropout_mask_info info;
} dropout_result;

static dropout_result run_dropout(clcnn_context *ctx, const dropout_case *dc, const float *x,
                                  const float *dy) {
    dropout_result r;
    size_t words = (dc->numel + 31) / 32;
    clcnn_tensor *xt = ts_vector_create(ctx, dc->numel, x);
    clcnn_tensor *dyt = ts_vector_create(ctx, dc->numel, dy);
    clcnn_tensor *yt = ts_vector_create(ctx, dc->numel, NULL);
    clcnn_tensor *dxt = ts_vector_create(ctx, dc->numel, NULL);
    clcnn_dropout_mask *mask = NULL;
    TS_ASSERT_OK(ctx, clcnn_dropout_mask_create(ctx, dc->numel, NULL, &mask));
    clcnn_dropout_state st = {dc->seed, dc->offset};
    TS_ASSERT_OK(ctx, clcnn_dropout_forward(ctx, &st, dc->p, 1, xt, yt, mask));
    TS_ASSERT_OK(ctx, clcnn_dropout_backward(ctx, mask, dyt, dxt, CLCNN_GRAD_OVERWRITE));
    r.bits = ts_malloc(words * sizeof *r.bits);
    TS_ASSERT_OK(ctx, clcnn_dropout_mask_read(mask, r.bits, words));
    TS_ASSERT_OK(ctx, clcnn_dropout_mask_get_info(mask, &r.info));
    r.y = ts_tensor_read_all(yt);
    r.dx = ts_tensor_read_all(dxt);
    clcnn_dropout_mask_destroy(mask);
    clcnn_tensor_destroy(xt);
    clcnn_tensor_destroy(dyt);
    clcnn_tensor_destroy(yt);
    clcnn_tensor_destroy(dxt);
    return r;
}

static void dropout_result_free(dropout_result *r) {
    free(r->bits);
    free(r->y);
    free(r->dx);
}

static size_t kept_count(const uint32_t *bits, size_t words) {
    size_t kept = 0;
    for (size_t w = 0; w < words; w++)
        for (uint32_t v = bits[w]; v != 0; v &= v - 1)
            kept++;
    return kept;
}

/* The reference's mask keeps about 1 - p of the elements (so that equal
 * masks cannot be equally empty), within 6 standard deviations. */
static void check_keep_rate(const dropout_case *dc, const uint32_t *bits) {
    size_t kept = kept_count(bits, (dc->numel + 31) / 32);
    double n = (double)dc->numel, q = 1.0 - (double)dc->p;
    double spread = 6.0 * sqrt(n * q * (1.0 - q)) + 1.0;
    if (fabs((double)kept - n * q) > spread) {
        print_error("dropout numel %zu p %g: %zu kept, expected %.0f +- %.0f\n", dc->numel,
                    (double)dc->p, kept, n * q, spread);
        fail();
    }
}

static void check_words_identical(const uint32_t *got, const uint32_t *want, size_t words,
                                  const char *label, size_t numel) {
    for (size_t w = 0; w < words; w++) {
        if (got[w] == want[w])
            continue;
        print_error("%s: dropout mask of %zu elements differs from the reference at word %zu: "
                    "0x%08x, reference 0x%08x\n",
                    label, numel, w, got[w], want[w]);
        fail();
    }
}

static void test_dropout_masks_identical(void **state) {
    const suite *s = *state;
    for (size_t d = 0; d < sizeof dropout_cases / sizeof dropout_cases[0]; d++) {
        const dropout_case *dc = &dropout_cases[d];
        float *x = ts_random_floats(dc->numel, 100 + (uint32_t)d, -2.0f, 2.0f);
        float *dy = ts_random_floats(dc->numel, 200 + (uint32_t)d, -1.0f, 1.0f);
        dropout_result ref = run_dropout(s->configs[0].ctx, dc, x, dy);
        check_keep_rate(dc, ref.bits);
        int paths_differ = 0;
        for (size_t i = 1; i < s->count; i++) {
            double start = now_seconds();
            dropout_result got = run_dropout(s->configs[i].ctx, dc, x, dy);
            printf("dropout %7zu elements p %.1f: %-48s %-10s x%-2u %.3f s\n", dc->numel,
                   (double)dc->p, s->configs[i].label,
                   got.info.strategy == CLCNN_DROPOUT_MASK_BITS ? "bits" : "regenerate",
                   got.info.vector_width, now_seconds() - start);
            check_words_identical(got.bits, ref.bits, (dc->numel + 31) / 32, s->configs[i].label,
                                  dc->numel);
            TS_ASSERT_FLOATS_IDENTICAL(got.y, ref.y, dc->numel);
            TS_ASSERT_FLOATS_IDENTICAL(got.dx, ref.dx, dc->numel);
            paths_differ |= got.info.strategy != ref.info.strategy ||
                            got.info.vector_width != ref.info.vector_width;
            dropout_result_free(&got);
        }
        /* The "gpu" class stores no bits and draws one word per work-item,
         * the "cpu" class stores bits and draws 16: the comparison spans
         * two code paths. */
        assert_true(paths_differ);
        dropout_result_free(&ref);
        free(x);
        free(dy);
    }
}

/* ----------------------------------------------------------------- networks */

/* Deterministic images that can be learnt: each class lights its own band
 * of rows over uniform noise. Labels cycle through the classes in a
 * scrambled order. */
static float *make_images(size_t count, int32_t *labels) {
    float *images = ts_random_floats(count * PIXELS, 4242, 0.0f, 0.5f);
    for (size_t i = 0; i < count; i++) {
        int32_t label = (int32_t)((i * 7 + 3) % CLASSES);
        labels[i] = label;
        size_t first_row = 2 + 2 * (size_t)label;
        for (size_t row = first_row; row < first_row + 3; row++)
            for (size_t col = 4; col < SIDE - 4; col++)
                images[i * PIXELS + row * SIDE + col] += 1.0f;
    }
    return images;
}

typedef struct net_run {
    clcnn_net *net;
    clcnn_tensor *input;
    clcnn_tensor *loss;
    clcnn_labels *labels;
    size_t batch;
} net_run;

static net_run net_run_create(clcnn_context *ctx, size_t batch) {
    net_run r;
    const size_t dims[4] = {batch, 1, SIDE, SIDE};
    r.batch = batch;
    r.net = NULL;
    TS_ASSERT_OK(ctx, clcnn_net_create_seed(ctx, 1, SIDE, SIDE, CLASSES, DROPOUT_P, &r.net));
    TS_ASSERT_OK(ctx, clcnn_net_init(r.net, INIT_SEED));
    TS_ASSERT_OK(ctx, clcnn_net_set_training(r.net, 1));
    r.input = ts_tensor_create(ctx, 4, dims, NULL);
    r.loss = ts_vector_create(ctx, 1, NULL);
    r.labels = NULL;
    TS_ASSERT_OK(ctx, clcnn_labels_create(ctx, batch, CLASSES, &r.labels));
    return r;
}

static void net_run_free(net_run *r) {
    clcnn_labels_destroy(r->labels);
    clcnn_tensor_destroy(r->loss);
    clcnn_tensor_destroy(r->input);
    clcnn_net_destroy(r->net);
}

/* Forward, loss and backward of one batch from fresh gradients; the loss. */
static float net_step(clcnn_context *ctx, net_run *r, const float *images, const int32_t *labels) {
    TS_ASSERT_OK(ctx, clcnn_tensor_write(r->input, 0, images, r->batch * PIXELS));
    TS_ASSERT_OK(ctx, clcnn_labels_write(r->labels, labels, r->batch));
    const clcnn_tensor *logits = NULL;
    TS_ASSERT_OK(ctx, clcnn_net_zero_grad(r->net));
    TS_ASSERT_OK(ctx, clcnn_net_forward(r->net, r->input, &logits));
    TS_ASSERT_OK(ctx, clcnn_net_loss(r->net, r->labels, r->loss));
    TS_ASSERT_OK(ctx, clcnn_net_backward(r->net));
    float loss = NAN;
    TS_ASSERT_OK(ctx, clcnn_tensor_read(r->loss, 0, &loss, 1));
    return loss;
}

/* The largest magnitude of the tensor. */
static double max_abs(const float *values, size_t count) {
    double largest = 0.0;
    for (size_t i = 0; i < count; i++)
        if (fabs((double)values[i]) > largest)
            largest = fabs((double)values[i]);
    return largest;
}

/* Whether got agrees with want: |got - want| <= GRAD_RTOL * max(|got|,
 * |want|) + GRAD_FLOOR * scale for every element, scale being the largest
 * gradient magnitude of the whole network. The relative part holds every
 * element that matters to 1e-5. The floor is there because devices sum
 * gradients in different orders (GEMM tiles, direct convolution, split
 * reductions), and an element that is the small difference of large terms
 * carries rounding errors of the size of those terms, not of itself. The
 * scale is the network's, not the tensor's, because some tensors are zero up
 * to rounding: a convolution's bias before batch norm gets no gradient
 * (the norm subtracts the mean), so its values are noise of about 1e-7 of
 * the network's gradients, with no scale of their own. *worst gets the
 * largest |got - want| / max|want| (the error in units of the tensor's own
 * scale) and *ratio the largest |got - want| / bound, for the log. */
static int tensors_agree(const float *got, const float *want, size_t count, double scale,
                         double *worst, double *ratio, size_t *worst_index) {
    double own_scale = max_abs(want, count);
    int agree = 1;
    *worst = *ratio = 0.0;
    *worst_index = 0;
    for (size_t i = 0; i < count; i++) {
        double a = (double)got[i], b = (double)want[i];
        double diff = fabs(a - b);
        double bound = GRAD_RTOL * fmax(fabs(a), fabs(b)) + GRAD_FLOOR * scale;
        if (!(diff <= bound))
            agree = 0;
        double relative = own_scale > 0.0 ? diff / own_scale : diff;
        if (!(relative <= *worst)) {
            *worst = relative;
            *worst_index = i;
        }
        if (!(diff / bound <= *ratio))
            *ratio = diff / bound;
    }
    return agree;
}

/* A training step's results: the loss, each parameter's initial value and
 * gradient. */
typedef struct step_result {
    float loss;
    size_t count;
    char names[16][64];
    float *values[16];
    float *grads[16];
    size_t numel[16];
} step_result;

static step_result run_step(clcnn_context *ctx, const float *images, const int32_t *labels) {
    step_result r;
    memset(&r, 0, sizeof r);
    net_run run = net_run_create(ctx, STEP_BATCH);
    r.count = clcnn_net_parameter_count(run.net);
    assert_true(r.count > 0 && r.count <= 16);
    for (size_t i = 0; i < r.count; i++) {
        clcnn_net_tensor p;
        TS_ASSERT_OK(ctx, clcnn_net_parameter(run.net, i, &p));
        snprintf(r.names[i], sizeof r.names[i], "%s", p.name);
        r.numel[i] = clcnn_tensor_numel(p.value);
        r.values[i] = ts_tensor_read_all(p.value);
    }
    r.loss = net_step(ctx, &run, images, labels);
    for (size_t i = 0; i < r.count; i++) {
        clcnn_net_tensor p;
        TS_ASSERT_OK(ctx, clcnn_net_parameter(run.net, i, &p));
        r.grads[i] = ts_tensor_read_all(p.grad);
    }
    net_run_free(&run);
    return r;
}

static void step_result_free(step_result *r) {
    for (size_t i = 0; i < r->count; i++) {
        free(r->values[i]);
        free(r->grads[i]);
    }
}

static void compare_steps(const step_result *got, const step_result *ref, const char *label) {
    assert_int_equal(got->count, ref->count);
    double loss_error = fabs((double)got->loss - (double)ref->loss) /
                        fmax(fabs((double)got->loss), fabs((double)ref->loss));
    printf("  %s: loss %.8g (reference %.8g), relative difference %.3g\n", label, (double)got->loss,
           (double)ref->loss, loss_error);
    int failed = !(loss_error <= LOSS_RTOL);
    double scale = 0.0;
    for (size_t i = 0; i < ref->count; i++)
        scale = fmax(scale, max_abs(ref->grads[i], ref->numel[i]));
    for (size_t i = 0; i < ref->count; i++) {
        assert_int_equal(got->numel[i], ref->numel[i]);
        TS_ASSERT_FLOATS_IDENTICAL(got->values[i], ref->values[i], ref->numel[i]);
        double worst = 0.0, ratio = 0.0;
        size_t at = 0;
        int agree =
            tensors_agree(got->grads[i], ref->grads[i], ref->numel[i], scale, &worst, &ratio, &at);
        printf("    grad %-14s %6zu elements: max|diff|/max|ref| %.2g, of the tolerance %.2g "
               "(element %zu: %.9g vs %.9g)%s\n",
               ref->names[i], ref->numel[i], worst, ratio, at, (double)got->grads[i][at],
               (double)ref->grads[i][at], agree ? "" : "  <- outside");
        failed |= !agree;
    }
    if (failed) {
        print_error("%s: the training step differs from the reference beyond 1e-5\n", label);
        fail();
    }
}

static void test_training_step_agrees(void **state) {
    const suite *s = *state;
    int32_t labels[STEP_BATCH];
    float *images = make_images(STEP_BATCH, labels);
    double start = now_seconds();
    step_result ref = run_step(s->configs[0].ctx, images, labels);
    printf("training step, batch %d: reference %s: loss %.8g, %.2f s\n", STEP_BATCH,
           s->configs[0].label, (double)ref.loss, now_seconds() - start);
    assert_true(isfinite(ref.loss));
    for (size_t i = 1; i < s->count; i++) {
        start = now_seconds();
        step_result got = run_step(s->configs[i].ctx, images, labels);
        printf("  %s: %.2f s\n", s->configs[i].label, now_seconds() - start);
        compare_steps(&got, &ref, s->configs[i].label);
        step_result_free(&got);
    }
    step_result_free(&ref);
    free(images);
}

/* -------------------------------------------------------------------- epoch */

/* The losses of the epoch's steps, and each step's host time. */
static void run_epoch(clcnn_context *ctx, const float *images, const int32_t *labels, float *losses,
                      double *seconds) {
    net_run run = net_run_create(ctx, EPOCH_BATCH);
    size_t count = clcnn_net_parameter_count(run.net);
    clcnn_tensor *params[16], *grads[16];
    assert_true(count <= 16);
    for (size_t i = 0; i < count; i++) {
        clcnn_net_tensor p;
        TS_ASSERT_OK(ctx, clcnn_net_parameter(run.net, i, &p));
        params[i] = p.value;
        grads[i] = p.grad;
    }
    clcnn_sgd_params sgd = clcnn_sgd_params_default();
    sgd.lr = SGD_LR;
    sgd.momentum = SGD_MOMENTUM;
    sgd.weight_decay = SGD_WEIGHT_DECAY;
    clcnn_optimizer *optimizer = NULL;
    TS_ASSERT_OK(ctx, clcnn_optimizer_create_sgd(ctx, &sgd, count, params, grads, &optimizer));
    for (size_t step = 0; step < EPOCH_STEPS; step++) {
        size_t first = step * EPOCH_BATCH;
        double start = now_seconds();
        losses[step] = net_step(ctx, &run, images + first * PIXELS, labels + first);
        TS_ASSERT_OK(ctx, clcnn_optimizer_step(optimizer));
        TS_ASSERT_OK(ctx, clcnn_context_finish(ctx));
        seconds[step] = now_seconds() - start;
    }
    clcnn_optimizer_destroy(optimizer);
    net_run_free(&run);
}

/* The losses, then the first step's time (it may compile kernels) and the
 * others' mean. */
static void print_losses(const char *label, const float *losses, const double *seconds) {
    double rest = 0.0;
    for (size_t i = 1; i < EPOCH_STEPS; i++)
        rest += seconds[i] / (EPOCH_STEPS - 1);
    printf("  %-48s", label);
    for (size_t i = 0; i < EPOCH_STEPS; i++)
        printf(" %.6f", (double)losses[i]);
    printf("  (first step %.2f s, then %.2f s a step)\n", seconds[0], rest);
}

static void test_epoch_losses_agree(void **state) {
    const suite *s = *state;
    int32_t labels[EPOCH_IMAGES];
    float *images = make_images(EPOCH_IMAGES, labels);
    float ref[EPOCH_STEPS], got[EPOCH_STEPS];
    printf("epoch of %d images, %d steps of %d: losses\n", EPOCH_IMAGES, EPOCH_STEPS, EPOCH_BATCH);
    double seconds[EPOCH_STEPS];
    run_epoch(s->configs[0].ctx, images, labels, ref, seconds);
    print_losses(s->configs[0].label, ref, seconds);
    for (size_t step = 0; step < EPOCH_STEPS; step++)
        assert_true(isfinite(ref[step]));
    /* The network learnt something: the data are learnable on purpose. */
    assert_true(ref[EPOCH_STEPS - 1] < ref[0]);
    double worst = 0.0;
    for (size_t i = 1; i < s->count; i++) {
        run_epoch(s->configs[i].ctx, images, labels, got, seconds);
        print_losses(s->configs[i].label, got, seconds);
        for (size_t step = 0; step < EPOCH_STEPS; step++) {
            double a = (double)got[step], b = (double)ref[step];
            double relative = fabs(a - b) / fmax(fabs(a), fabs(b));
            worst = relative > worst ? relative : worst;
            if (!(relative <= EPOCH_LOSS_RTOL)) {
                print_error("%s: step %zu's loss %.8g differs from the reference's %.8g by "
                            "%.3g (relative; allowed %g)\n",
                            s->configs[i].label, step, a, b, relative, EPOCH_LOSS_RTOL);
                fail();
            }
        }
    }
    printf("  largest relative loss difference: %.3g\n", worst);
    free(images);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_enough_devices),
        cmocka_unit_test(test_dropout_masks_identical),
        cmocka_unit_test(test_training_step_agrees),
        cmocka_unit_test(test_epoch_losses_agree),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
