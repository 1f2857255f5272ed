/* clcnn-bench's `peak_fma`: the device's floating-point peak, clpeak-style.
 * cl/peak.cl's kernels run independent fma chains of float, float4, float8
 * and float16 per work-item over enough work-items to fill the device; the
 * best width's GFLOP/s (of its fastest sample) is the peak that gflops
 * results are compared with (fraction_of_peak). Each width's trip count is scaled until one launch
 * takes about PEAK_TARGET_MS, and the sums the kernel writes (one vector
 * per work-item) are checked against a double-precision closed form, so the
 * work cannot have been dropped. */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdio.h>

#include "bench.h"

/* Must match cl/peak.cl. */
#define PEAK_CHAINS 8
#define PEAK_UNROLL 4

#define PEAK_ITEMS_PER_UNIT 2048 /* work-items per compute unit */
/* Work-group size: a fixed, small one, so that a driver free to choose
 * (POCL: up to 4096) never runs the whole range as one group on one core. */
#define PEAK_GROUP_SIZE 64
#define PEAK_TARGET_MS 20.0 /* one launch, after calibration */
#define PEAK_MAX_ITERATIONS (1u << 24)
#define PEAK_SCALE 0.999f
#define PEAK_OFFSET 0.001f
#define PEAK_TOLERANCE 1e-3 /* relative; float rounding stays below 3e-4 */
#define PEAK_MAX_WIDTH 16

typedef struct peak_width {
    unsigned width;
    const char *kernel;
    const char *key; /* the result's extra with this width's GFLOP/s */
} peak_width;

static const peak_width peak_widths[] = {{1, "peak_fma_float", "gflops_float"},
                                         {4, "peak_fma_float4", "gflops_float4"},
                                         {8, "peak_fma_float8", "gflops_float8"},
                                         {16, "peak_fma_float16", "gflops_float16"}};

#define PEAK_WIDTH_COUNT (sizeof peak_widths / sizeof peak_widths[0])

typedef struct peak_state {
    clcnn_context *ctx;
    clcnn_device_traits traits;
    clcnn_kernel *kernel; /* the width being measured */
    size_t count;         /* work-items, one output vector each */
    size_t local;         /* work-group size, or 0: the driver's choice */
    uint32_t iterations;
} peak_state;

static int peak_enqueue(void *p) {
    peak_state *st = p;
    clcnn_status status = clcnn_kernel_set_uint(st->kernel, 2, st->iterations);
    if (status == CLCNN_OK)
        status = clcnn_kernel_launch(st->kernel, 1, &st->count, st->local > 0 ? &st->local : NULL);
    return status == CLCNN_OK ? 0 : bench_fail("peak_fma", status, st->ctx);
}

/* The work-group size: PEAK_GROUP_SIZE, halved until the compiled kernel
 * takes it (the work-item count is a multiple of each half); 0 lets the
 * driver choose where the device's groups are smaller still. */
static int peak_fit_local(peak_state *st, size_t device_limit) {
    size_t kernel_limit = 0;
    clcnn_status status = clcnn_kernel_work_group_limit(st->kernel, &kernel_limit);
    if (status != CLCNN_OK)
        return bench_fail("peak_fma", status, st->ctx);
    st->local = device_limit >= PEAK_GROUP_SIZE ? PEAK_GROUP_SIZE : 0;
    while (st->local > kernel_limit)
        st->local /= 2;
    return 0;
}

/* The kernel of the width with its arguments set, but for the trip count
 * (peak_enqueue's). */
static int peak_prepare(peak_state *st, const peak_width *w, clcnn_tensor *out,
                        size_t device_limit) {
    clcnn_status status =
        clcnn_kernel_create_builtin(st->ctx, "peak.cl", NULL, w->kernel, &st->kernel);
    if (status != CLCNN_OK)
        return bench_fail("getting the peak_fma kernels", status, st->ctx);
    status = clcnn_kernel_set_tensor(st->kernel, 0, out);
    if (status == CLCNN_OK)
        status = clcnn_kernel_set_uint(st->kernel, 1, (uint32_t)st->count);
    if (status == CLCNN_OK)
        status = clcnn_kernel_set_float(st->kernel, 3, PEAK_SCALE);
    if (status == CLCNN_OK)
        status = clcnn_kernel_set_float(st->kernel, 4, PEAK_OFFSET);
    if (status != CLCNN_OK)
        return bench_fail("peak_fma", status, st->ctx);
    return peak_fit_local(st, device_limit);
}

/* One launch, waited for, in host milliseconds. */
static int peak_run_once(peak_state *st, double *ms) {
    double start = bench_now_ms();
    if (peak_enqueue(st) != 0)
        return -1;
    clcnn_status status = clcnn_context_finish(st->ctx);
    *ms = bench_now_ms() - start;
    return status == CLCNN_OK ? 0 : bench_fail("peak_fma", status, st->ctx);
}

/* A first launch (the driver may compile the kernel then), then trip counts
 * growing until a launch takes about PEAK_TARGET_MS, or until the most a
 * work-item may loop on this device (llvmpipe ends loops after 65535
 * trips). */
static int peak_calibrate(peak_state *st) {
    double ms = 0.0;
    /* Half the limit, as the library keeps to: the compiler may leave the
     * unrolled body as more than one loop. */
    size_t allowed = st->traits.loop_trip_limit / 2 > 0 ? st->traits.loop_trip_limit / 2 : 1;
    uint32_t most = allowed < PEAK_MAX_ITERATIONS ? (uint32_t)allowed : PEAK_MAX_ITERATIONS;
    st->iterations = 1;
    if (peak_run_once(st, &ms) != 0)
        return -1;
    st->iterations = 16;
    for (;;) {
        if (peak_run_once(st, &ms) != 0)
            return -1;
        if (ms >= PEAK_TARGET_MS / 2 || st->iterations >= most)
            return 0;
        double factor = ms > 1.0 ? PEAK_TARGET_MS / ms : 16.0;
        if (factor > 16.0)
            factor = 16.0;
        double next = (double)st->iterations * factor;
        st->iterations = next >= (double)most ? most : (uint32_t)ceil(next);
    }
}

/* cl/peak.cl's peak_start: chain `chain`'s start in work-item `item`. */
static float peak_start(unsigned item, unsigned chain) {
    return 0.25f + 0.001f * (float)(item & 255u) + 0.05f * (float)chain;
}

/* Lane `lane` of what work-item `item` writes: the sum over the chains,
 * each following x = x * scale + offset, whose n-th step is
 * fixed + (x0 - fixed) * scale^n. */
static double peak_expected(unsigned item, unsigned lane, uint32_t iterations) {
    double scale = PEAK_SCALE, offset = PEAK_OFFSET;
    double fixed = offset / (1.0 - scale);
    double decay = pow(scale, (double)iterations * PEAK_UNROLL);
    double sum = 0.0;
    for (unsigned chain = 0; chain < PEAK_CHAINS; chain++) {
        double start = (double)(peak_start(item, chain) * (1.0f + 0.01f * (float)lane));
        sum += fixed + (start - fixed) * decay;
    }
    return sum;
}

/* Every lane of the first, a middle and the last work-item's output. */
static int peak_check(peak_state *st, clcnn_tensor *out, const peak_width *w) {
    const size_t items[3] = {0, st->count / 2 + 1, st->count - 1};
    for (size_t i = 0; i < 3; i++) {
        float got[PEAK_MAX_WIDTH];
        clcnn_status status = clcnn_tensor_read(out, items[i] * w->width, got, w->width);
        if (status != CLCNN_OK)
            return bench_fail("reading peak_fma's output", status, st->ctx);
        for (unsigned lane = 0; lane < w->width; lane++) {
            double want = peak_expected((unsigned)items[i], lane, st->iterations);
            if (fabs((double)got[lane] - want) <= PEAK_TOLERANCE * fabs(want))
                continue;
            fflush(stdout);
            fprintf(stderr,
                    "clcnn-bench: peak_fma: %s wrote %.7g in lane %u of item %zu, expected "
                    "%.7g\n",
                    w->kernel, (double)got[lane], lane, items[i], want);
            return -1;
        }
    }
    return 0;
}

/* Times one width; *gflops and *timing of its median launch. */
static int peak_measure(bench_session *s, peak_state *st, clcnn_tensor *out, const peak_width *w,
                        double *gflops, bench_timing *timing) {
    bench_region region = {"peak_fma", st->ctx, peak_enqueue, st};
    int failed = peak_prepare(st, w, out, s->run->info->max_work_group_size) != 0 ||
                 peak_calibrate(st) != 0 || bench_time_region(s, &region, timing) != 0 ||
                 peak_check(st, out, w) != 0;
    clcnn_kernel_destroy(st->kernel);
    st->kernel = NULL;
    if (failed)
        return -1;
    double flops =
        2.0 * w->width * PEAK_CHAINS * PEAK_UNROLL * (double)st->iterations * (double)st->count;
    /* A peak is what the device can do: the fastest sample, not the median
     * (other work on a shared device only ever slows a sample down). */
    const double *samples = timing->device_timed ? s->samples : s->wall;
    for (size_t i = 0; i < timing->samples; i++)
        if (samples[i] < timing->ms)
            timing->ms = samples[i];
    *gflops = flops / (timing->ms * 1e6);
    return 0;
}

int bench_peak_fma(bench_session *s, const bench_entry *entry, bench_result *result) {
    (void)entry;
    peak_state st = {NULL, {0}, NULL, 0, 0, 0};
    if (bench_session_context(s, 1, &st.ctx) != 0)
        return -1;
    clcnn_status status = clcnn_context_device_traits(st.ctx, &st.traits);
    if (status != CLCNN_OK)
        return bench_fail("reading the device traits", status, st.ctx);
    uint32_t units = s->run->info->compute_units > 0 ? s->run->info->compute_units : 1;
    st.count = (size_t)units * PEAK_ITEMS_PER_UNIT;
    clcnn_tensor *out = NULL;
    size_t elements = st.count * PEAK_MAX_WIDTH;
    status = clcnn_tensor_create(st.ctx, 1, &elements, &out);
    if (status != CLCNN_OK)
        return bench_fail("creating a tensor", status, st.ctx);
    double gflops[PEAK_WIDTH_COUNT] = {0.0};
    bench_timing best_timing = {0.0, 0.0, 0, 0, 0};
    size_t best = 0;
    uint32_t best_iterations = 0;
    int failed = 0;
    for (size_t i = 0; i < PEAK_WIDTH_COUNT && !failed; i++) {
        /* Widths the device's compiler is known to choke on are left out
         * (llvmpipe: float16 took minutes to build). */
        if (peak_widths[i].width > st.traits.widest_vector)
            continue;
        bench_timing timing;
        failed = peak_measure(s, &st, out, &peak_widths[i], &gflops[i], &timing) != 0;
        if (!failed && (i == 0 || gflops[i] > gflops[best])) {
            best = i;
            best_timing = timing;
            best_iterations = st.iterations;
        }
    }
    clcnn_tensor_destroy(out);
    clcnn_context_trim_pool(st.ctx);
    if (failed)
        return -1;
    bench_result_from_timing(result, "peak_fma", "gflops", &best_timing);
    result->value = gflops[best];
    for (size_t i = 0; i < PEAK_WIDTH_COUNT; i++)
        if (peak_widths[i].width <= st.traits.widest_vector)
            bench_result_extra(result, peak_widths[i].key, gflops[i]);
    bench_result_extra(result, "best_width", peak_widths[best].width);
    bench_result_extra(result, "work_items", (double)st.count);
    bench_result_extra(result, "iterations", (double)best_iterations);
    bench_result_extra(result, "chains", PEAK_CHAINS);
    s->run->report->peak_gflops = result->value; /* gflops results' fraction_of_peak */
    return 0;
}
