/* conv2d, direct algorithm (the CPU fast path): convolutions (column stride
 * 1 or 2 forward) as register-tiled kernels on a zero-padded copy of the
 * input (cl/conv2d_direct.cl, cl/conv2d_direct_weights.cl). Backward data
 * is the forward kernel on padded dy with flipped, transposed weights; of
 * a strided convolution, once per phase of dx (the rows and columns one
 * residue apart modulo the stride), with that phase's taps. Workspaces
 * come from the context's pool and go back right after enqueueing (the
 * in-order queue keeps their reuse safe). */
#include <stdint.h>
#include <stdio.h>

#include "conv2d_flags.h"
#include "ops/conv2d_tune.h"

/* Register tiles of the weight-gradient kernel: CT input channels x RT tap
 * rows x every tap column, times KV vectors of VW output channels, over
 * chunks of chunk_rows output rows (the rows of all images, image after
 * image). */
typedef struct weight_tiles {
    size_t vw, kv, ct, rt, outs_padded, chunk_rows;
} weight_tiles;

/* The largest divisor of value that is at most cap (at least 1). */
static size_t divisor_at_most(size_t value, size_t cap) {
    for (size_t d = cap < value ? cap : value; d > 1; d--)
        if (value % d == 0)
            return d;
    return 1;
}

static size_t round_up(size_t value, size_t multiple) {
    return (value + multiple - 1) / multiple * multiple;
}

/* Lanes per vector for `count` output channels: 8 or 16 (few widths, few
 * program variants to build). */
static size_t vector_width(size_t count) {
    return count > 8 ? 16 : 8;
}

/* Forward register tiles by output row width, the last row the default:
 * 16 vector accumulators (KT x WV), half of AVX-512's registers, the rest
 * for the loaded rows and broadcast weights. Measured with POCL 3.1 on Zen
 * 4: 16-lane rows 8 x 2 (conv_a, 32 wide) about 190 GFLOP/s against 160
 * with KT 4 or 16; one 16-lane vector (conv_b, 16 wide) KT 16 about 260
 * against 130 with KT 8. */
typedef struct forward_tile_row {
    size_t widest;             /* output rows up to this wide */
    clcnn__conv2d_tiles tiles; /* KT output channels x WV vectors of VW lanes */
} forward_tile_row;

static const forward_tile_row forward_tile_table[] = {
    {8, {16, 8, 1}},
    {16, {16, 16, 1}},
    {SIZE_MAX, {8, 16, 2}},
};

static clcnn__conv2d_tiles choose_forward_tiles(size_t outs, size_t out_w) {
    size_t row = 0;
    while (out_w > forward_tile_table[row].widest)
        row++;
    clcnn__conv2d_tiles t = forward_tile_table[row].tiles;
    /* Few output channels: 8 per tile, less padding computed (and no
     * smaller sizes but 1: each size is one more program to build). One
     * output channel per group (depthwise convolutions, groups =
     * channels): 1, not 8 of which 7 were padding. */
    if (outs <= 8)
        t.kt = outs == 1 ? 1 : 8;
    return t;
}

/* About 24 vector accumulators (never fewer than one row of taps); output
 * channels of a group padded to whole vectors. */
/* Loop trips the weight-gradient kernel takes per output position: the
 * position loop and every tile loop the compiler may keep rolled, doubled
 * (llvmpipe measured about 43 where this counts 24). */
static size_t weight_trips_per_position(const weight_tiles *t, size_t kw) {
    return 2 * (2 + t->kv + t->ct * t->rt * (1 + kw * (1 + t->kv)));
}

static weight_tiles choose_weight_tiles(const clcnn_context *ctx, const clcnn__conv2d_geometry *g) {
    weight_tiles t;
    t.vw = vector_width(g->kg);
    t.kv = g->kg > 16 && g->kw <= 12 ? 2 : 1;
    size_t row_budget = 24 / (t.kv * g->kw); /* tap rows that fit */
    t.rt = divisor_at_most(g->kh, row_budget);
    /* Several input channels only for 1 x 1 kernels (otherwise one channel's
     * taps fill the tile well enough, and fewer variants get built). */
    t.ct = g->kh * g->kw == 1 ? divisor_at_most(g->cg, row_budget) : 1;
    t.outs_padded = round_up(g->kg, t.vw * t.kv);
    /* Chunks of images whose padded input and transposed dy stay in a
     * core's cache together (about 512 KiB), so the work-items of a chunk
     * reread them from there. */
    size_t image_bytes = (g->c * (g->h + 2 * g->ph) * (g->w + 2 * g->pw) +
                          g->groups * g->ho * g->wo * t.outs_padded) *
                         sizeof(float);
    size_t chunk_images = (512 * 1024) / image_bytes;
    if (chunk_images < 1)
        chunk_images = 1;
    if (chunk_images > g->n)
        chunk_images = g->n;
    t.chunk_rows = chunk_images * g->ho;
    /* Fewer rows where the driver limits a work-item's loop trips. */
    size_t positions = clcnn__loop_trips_allowed(ctx, weight_trips_per_position(&t, g->kw));
    size_t rows = positions / g->wo > 0 ? positions / g->wo : 1;
    if (t.chunk_rows > rows)
        t.chunk_rows = rows;
    return t;
}

/* The sizes of one run of conv2d_fwd_direct: the input (x, or dy for
 * backward data) [n, groups * ins, h, w] padded by (top, left) into
 * [padded_h, padded_w] and read with stride (sh, sw), giving outputs
 * [out_h, out_w] stored at rows y_row0 + osh * i, columns y_col0 + osw * j
 * of y [n, groups * outs, y_h, y_w]. phase: the weights are one phase's
 * taps (conv2d_pack_phase_weights from r_last, s_last), else all of them. */
typedef struct forward_plan {
    size_t n, groups, ins, outs, h, w, top, left, out_h, out_w;
    size_t kh, kw, dh, dw, sh, sw;
    size_t osh, osw, y_h, y_w, y_row0, y_col0;
    int phase;
    size_t r_last, s_last, step_h, step_w;
    clcnn__conv2d_tiles tiles;
    size_t row_tiles, padded_h, padded_w, padded_count, packed_count;
    int needs_padding;
} forward_plan;

/* One axis of one phase of a strided convolution's backward data
 * (dilation 1): the dx positions phase + stride * i, i < extent, take the
 * taps last, last - stride, ... (`taps` of them) of dy padded by top.
 * fits: 0 where dy would have to be cropped instead (top below 0). */
typedef struct phase_axis {
    size_t extent, taps, last, top;
    int fits;
} phase_axis;

static phase_axis phase_axis_of(size_t size, size_t kernel, size_t stride, size_t pad,
                                size_t phase) {
    phase_axis a = {0, 0, 0, 0, 1};
    a.extent = phase < size ? (size - phase + stride - 1) / stride : 0;
    for (size_t r = 0; r < kernel; r++)
        if ((phase + pad + stride * kernel - r) % stride == 0) {
            a.taps++;
            a.last = r;
        }
    if (a.taps > 0 && a.last < phase + pad)
        a.fits = 0;
    else if (a.taps > 0)
        a.top = (a.last - phase - pad) / stride;
    return a;
}

static int strided_backward_data(const clcnn__conv2d_geometry *g, int backward_data) {
    return backward_data && (g->sh != 1 || g->sw != 1);
}

/* Row tiles, padded sizes and workspace counts of a plan whose other
 * fields are set. */
static void plan_finish(forward_plan *p) {
    size_t span = p->tiles.vw * p->tiles.wv;
    p->row_tiles = (p->out_w + span - 1) / span;
    size_t needed = p->row_tiles * span * p->sw + p->dw * (p->kw - 1);
    if (p->padded_w < needed)
        p->padded_w = needed;
    p->needs_padding = p->phase || p->top != 0 || p->left != 0 || p->padded_w != p->w;
    p->padded_count = p->n * p->groups * p->ins * p->padded_h * p->padded_w;
    size_t out_tiles = (p->outs + p->tiles.kt - 1) / p->tiles.kt;
    p->packed_count = p->groups * out_tiles * p->ins * p->kh * p->kw * p->tiles.kt;
}

/* The built-in tiles of a pass: by the width of the rows it computes (for
 * strided backward data, those of a phase). */
static clcnn__conv2d_tiles builtin_tiles(const clcnn__conv2d_geometry *g, int backward_data) {
    if (!backward_data)
        return choose_forward_tiles(g->kg, g->wo);
    return choose_forward_tiles(g->cg, (g->w + g->sw - 1) / g->sw);
}

/* The plan of phase (a, b) of a strided convolution's backward data with
 * these tiles; kh or kw 0 where no tap reaches the phase. */
static forward_plan plan_phase(const clcnn__conv2d_geometry *g, size_t a, size_t b,
                               const clcnn__conv2d_tiles *tiles) {
    phase_axis rows = phase_axis_of(g->h, g->kh, g->sh, g->ph, a);
    phase_axis cols = phase_axis_of(g->w, g->kw, g->sw, g->pw, b);
    forward_plan p = {0};
    p.n = g->n, p.groups = g->groups, p.ins = g->kg, p.outs = g->cg;
    p.h = g->ho, p.w = g->wo, p.top = rows.top, p.left = cols.top;
    p.out_h = rows.extent, p.out_w = cols.extent;
    p.kh = rows.taps, p.kw = cols.taps, p.dh = 1, p.dw = 1, p.sh = 1, p.sw = 1;
    p.osh = g->sh, p.osw = g->sw, p.y_h = g->h, p.y_w = g->w, p.y_row0 = a, p.y_col0 = b;
    p.phase = 1, p.r_last = rows.last, p.s_last = cols.last;
    p.step_h = g->sh, p.step_w = g->sw;
    p.tiles = *tiles;
    /* Rows past the last one a phase reads stay out of the workspace. */
    p.padded_h = p.out_h + (p.kh > 0 ? p.kh - 1 : 0);
    p.padded_w = 0;
    if (p.kh > 0 && p.kw > 0 && p.out_h > 0 && p.out_w > 0)
        plan_finish(&p);
    return p;
}

/* Whether a phase computes anything (some tap reaches some position). */
static int phase_runs(const forward_plan *p) {
    return p->kh > 0 && p->kw > 0 && p->out_h > 0 && p->out_w > 0;
}

/* tiles NULL: the built-in table's. Strided backward data: phase (0, 0)'s
 * plan (the tiles of every phase). */
static forward_plan plan_forward(const clcnn__conv2d_geometry *g, int backward_data,
                                 const clcnn__conv2d_tiles *tiles) {
    clcnn__conv2d_tiles chosen = tiles != NULL ? *tiles : builtin_tiles(g, backward_data);
    if (strided_backward_data(g, backward_data))
        return plan_phase(g, 0, 0, &chosen);
    forward_plan p = {0};
    p.n = g->n;
    p.groups = g->groups;
    p.kh = g->kh;
    p.kw = g->kw;
    p.dh = g->dh;
    p.dw = g->dw;
    if (!backward_data) {
        p.ins = g->cg, p.outs = g->kg, p.h = g->h, p.w = g->w;
        p.top = g->ph, p.left = g->pw, p.out_h = g->ho, p.out_w = g->wo;
        p.sh = g->sh, p.sw = g->sw;
    } else {
        p.ins = g->kg, p.outs = g->cg, p.h = g->ho, p.w = g->wo;
        p.top = g->dh * (g->kh - 1) - g->ph, p.left = g->dw * (g->kw - 1) - g->pw;
        p.out_h = g->h, p.out_w = g->w;
        p.sh = 1, p.sw = 1;
    }
    p.osh = 1, p.osw = 1, p.y_h = p.out_h, p.y_w = p.out_w;
    p.tiles = chosen;
    p.padded_h = p.h + 2 * p.top;
    p.padded_w = p.w + 2 * p.left;
    plan_finish(&p);
    return p;
}

/* Workspace sizes are products of checked tensor sizes with small factors;
 * they are compared with the index limit in double to rule out overflow. */
static int plan_fits(const forward_plan *p) {
    double padded =
        (double)p->n * (double)(p->groups * p->ins) * (double)p->padded_h * (double)p->padded_w;
    return padded <= (double)CLCNN__CONV2D_MAX_ELEMENTS &&
           (double)p->packed_count <= (double)CLCNN__CONV2D_MAX_ELEMENTS;
}

static size_t weight_chunks(const clcnn__conv2d_geometry *g, const weight_tiles *t) {
    return (g->n * g->ho + t->chunk_rows - 1) / t->chunk_rows;
}

/* Whether a work-item's loop over the plan's input channels stays under the
 * driver's loop-trip limit: per channel a trip per tap row, per tap and per
 * register tile loop, doubled (llvmpipe failed at 256 channels of 3 x 3 taps
 * with KT 8 x WV 2, where this counts 247 a channel). The channels cannot be
 * split over launches (the epilogue needs the whole sum): where they do not
 * fit, the general algorithm, which splits them, runs instead. */
static int plan_loops_fit(const clcnn_context *ctx, const forward_plan *p) {
    const clcnn__conv2d_tiles *t = &p->tiles;
    size_t per_channel = 2 * (1 + p->kh * (1 + p->kw * (1 + t->wv + t->kt * (1 + t->wv))));
    return p->ins <= clcnn__loop_trips_allowed(ctx, per_channel);
}

/* The most phases (stride_h x stride_w) strided backward data runs as
 * launches of their own; larger strides take the general algorithm. */
#define MAX_PHASE_STRIDE 4

/* Whether the plans of a pass with these tiles (NULL: the built-in ones)
 * fit the index and loop-trip limits: for strided backward data, every
 * phase's (dilation 1 and no phase that would crop dy); forward, a column
 * stride the kernel loads (1 or 2). */
static int plans_fit(const clcnn_context *ctx, const clcnn__conv2d_geometry *g, int backward_data,
                     const clcnn__conv2d_tiles *tiles) {
    clcnn__conv2d_tiles chosen = tiles != NULL ? *tiles : builtin_tiles(g, backward_data);
    if (!strided_backward_data(g, backward_data)) {
        forward_plan p = plan_forward(g, backward_data, &chosen);
        return p.sw <= 2 && plan_fits(&p) && plan_loops_fit(ctx, &p);
    }
    if (g->dh != 1 || g->dw != 1 || g->sh > MAX_PHASE_STRIDE || g->sw > MAX_PHASE_STRIDE)
        return 0;
    for (size_t a = 0; a < g->sh; a++)
        for (size_t b = 0; b < g->sw; b++) {
            if (!phase_axis_of(g->h, g->kh, g->sh, g->ph, a).fits ||
                !phase_axis_of(g->w, g->kw, g->sw, g->pw, b).fits)
                return 0;
            forward_plan p = plan_phase(g, a, b, &chosen);
            if (phase_runs(&p) && !(plan_fits(&p) && plan_loops_fit(ctx, &p)))
                return 0;
        }
    return 1;
}

int clcnn__conv2d_direct_supports(const clcnn_context *ctx, const clcnn__conv2d_geometry *g,
                                  clcnn__conv2d_pass pass) {
    if (pass == CLCNN__CONV2D_BACKWARD_WEIGHTS) {
        weight_tiles t = choose_weight_tiles(ctx, g);
        double limit = (double)CLCNN__CONV2D_MAX_ELEMENTS;
        double padded =
            (double)g->n * (double)g->c * (double)(g->h + 2 * g->ph) * (double)(g->w + 2 * g->pw);
        double grad =
            (double)g->n * (double)g->groups * (double)(g->ho * g->wo) * (double)t.outs_padded;
        double partial = (double)weight_chunks(g, &t) * (double)g->groups *
                         (double)(g->cg * g->kh * g->kw) * (double)t.outs_padded;
        return padded <= limit && grad <= limit && partial <= limit;
    }
    return plans_fit(ctx, g, pass == CLCNN__CONV2D_BACKWARD_DATA, NULL);
}

/* ----------------------------------------------------------------- tuning */

size_t clcnn__conv2d_direct_tile_candidates(const clcnn__conv2d_geometry *g,
                                            clcnn__conv2d_pass pass, clcnn__conv2d_tiles *out) {
    forward_plan p = plan_forward(g, pass == CLCNN__CONV2D_BACKWARD_DATA, NULL);
    size_t count = 0, rows = sizeof forward_tile_table / sizeof forward_tile_table[0];
    for (size_t i = 0; i <= rows && count < CLCNN__CONV2D_MAX_TILE_CANDIDATES; i++) {
        clcnn__conv2d_tiles t = i == 0 ? p.tiles : forward_tile_table[i - 1].tiles;
        int seen = 0;
        for (size_t j = 0; j < count; j++)
            seen |= out[j].kt == t.kt && out[j].vw == t.vw && out[j].wv == t.wv;
        if (!seen)
            out[count++] = t;
    }
    return count;
}

clcnn__conv2d_tiles clcnn__conv2d_direct_builtin_tiles(const clcnn__conv2d_geometry *g,
                                                       clcnn__conv2d_pass pass) {
    return builtin_tiles(g, pass == CLCNN__CONV2D_BACKWARD_DATA);
}

/* Whether tiles were given (not all 0). */
static int tiles_given(const clcnn__conv2d_tiles *tiles) {
    return tiles != NULL && (tiles->kt != 0 || tiles->vw != 0 || tiles->wv != 0);
}

/* The given tiles where every plan of the pass takes them, else the
 * built-in table's. */
static clcnn__conv2d_tiles tiles_with(const clcnn_context *ctx, const clcnn__conv2d_geometry *g,
                                      clcnn__conv2d_pass pass, const clcnn__conv2d_tiles *tiles) {
    int backward_data = pass == CLCNN__CONV2D_BACKWARD_DATA;
    if (tiles_given(tiles) && plans_fit(ctx, g, backward_data, tiles))
        return *tiles;
    return builtin_tiles(g, backward_data);
}

int clcnn__conv2d_direct_tiles_apply(const clcnn_context *ctx, const clcnn__conv2d_geometry *g,
                                     clcnn__conv2d_pass pass, const clcnn__conv2d_tiles *tiles) {
    clcnn__conv2d_tiles candidates[CLCNN__CONV2D_MAX_TILE_CANDIDATES];
    size_t count = clcnn__conv2d_direct_tile_candidates(g, pass, candidates);
    for (size_t i = 0; i < count; i++) {
        const clcnn__conv2d_tiles *c = &candidates[i];
        if (c->kt != tiles->kt || c->vw != tiles->vw || c->wv != tiles->wv)
            continue;
        clcnn__conv2d_tiles t = tiles_with(ctx, g, pass, tiles);
        return t.kt == tiles->kt && t.vw == tiles->vw && t.wv == tiles->wv;
    }
    return 0;
}

/* ---------------------------------------------------------------- helpers */

/* Enqueues conv2d_pad: src [planes, h, w] into dst [planes, dst_h, dst_w] at
 * (top, left). */
static clcnn_status enqueue_pad(clcnn_context *ctx, cl_mem src, cl_mem dst, size_t planes, size_t h,
                                size_t w, size_t dst_h, size_t dst_w, size_t top, size_t left) {
    clcnn__launch launch;
    clcnn_status status = clcnn__conv2d_prepare(ctx, "conv2d_pad", &launch);
    if (status != CLCNN_OK)
        return status;
    clcnn__arg_mem(&launch, src);
    clcnn__arg_mem(&launch, dst);
    const size_t values[] = {planes, h, w, dst_h, dst_w, top, left};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
        clcnn__arg_int(&launch, values[i]);
    const size_t global = planes * dst_h, local = 16;
    return clcnn__conv2d_launch(&launch, 1, &global, &local);
}

/* A phase's taps of the kernel's full kh x kw (conv2d_pack_phase_weights). */
static clcnn_status enqueue_pack_phase(clcnn_context *ctx, cl_mem w, cl_mem packed,
                                       const forward_plan *p, size_t kernel_h, size_t kernel_w) {
    clcnn__launch launch;
    clcnn_status status = clcnn__conv2d_prepare(ctx, "conv2d_pack_phase_weights", &launch);
    if (status != CLCNN_OK)
        return status;
    clcnn__arg_mem(&launch, w);
    clcnn__arg_mem(&launch, packed);
    const size_t values[] = {p->groups, p->outs,   p->ins,    kernel_h,  kernel_w,  p->kh,
                             p->kw,     p->r_last, p->s_last, p->step_h, p->step_w, p->tiles.kt};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
        clcnn__arg_int(&launch, values[i]);
    const size_t global = p->packed_count, local = 64;
    return clcnn__conv2d_launch(&launch, 1, &global, &local);
}

/* transpose: backward data's flipped, transposed weights (of a phase: its
 * taps of the full kernel_h x kernel_w, enqueue_pack_phase). */
static clcnn_status enqueue_pack(clcnn_context *ctx, cl_mem w, cl_mem packed, const forward_plan *p,
                                 int transpose, size_t kernel_h, size_t kernel_w) {
    if (p->phase)
        return enqueue_pack_phase(ctx, w, packed, p, kernel_h, kernel_w);
    clcnn__launch launch;
    clcnn_status status = clcnn__conv2d_prepare(ctx, "conv2d_pack_weights", &launch);
    if (status != CLCNN_OK)
        return status;
    clcnn__arg_mem(&launch, w);
    clcnn__arg_mem(&launch, packed);
    const size_t values[] = {p->groups, p->outs,     p->ins,           p->kh,
                             p->kw,     p->tiles.kt, (size_t)transpose};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
        clcnn__arg_int(&launch, values[i]);
    const size_t global = p->packed_count, local = 64;
    return clcnn__conv2d_launch(&launch, 1, &global, &local);
}

/* Pads the input, packs the weights (of a kernel_h x kernel_w kernel) and
 * runs conv2d_fwd_direct. */
static clcnn_status run_forward(clcnn_context *ctx, const forward_plan *p, cl_mem input, cl_mem w,
                                int transpose, size_t kernel_h, size_t kernel_w, cl_mem bias,
                                const clcnn__conv2d_epilogue *epilogue, cl_mem out,
                                int accumulate) {
    /* The pool's vector form (CPUs) or its scalar form, as the device table
     * says (POOL in cl/conv2d_direct.cl). */
    int pool = epilogue != NULL && epilogue->pool;
    const char *pool_option = !pool                           ? ""
                              : ctx->choices.conv2d.pool == 1 ? " -DPOOL=1"
                                                              : " -DPOOL=2";
    char options[200];
    snprintf(options, sizeof options,
             "-DKH=%zu -DKW=%zu -DDH=%zu -DDW=%zu -DKT=%zu -DVW=%zu "
             "-DWV=%zu -DSH=%zu -DSW=%zu -DOSH=%zu -DOSW=%zu%s",
             p->kh, p->kw, p->dh, p->dw, p->tiles.kt, p->tiles.vw, p->tiles.wv, p->sh, p->sw,
             p->osh, p->osw, pool_option);
    clcnn__launch launch;
    clcnn_status status =
        clcnn__launch_prepare(ctx, "conv2d_direct.cl", options, "conv2d_fwd_direct", &launch);
    if (status != CLCNN_OK)
        return status;
    cl_mem padded = input, packed = NULL;
    if (p->needs_padding) {
        status = clcnn__buffer_acquire(ctx, p->padded_count * sizeof(float), &padded);
        if (status != CLCNN_OK)
            return status;
        status = enqueue_pad(ctx, input, padded, p->n * p->groups * p->ins, p->h, p->w, p->padded_h,
                             p->padded_w, p->top, p->left);
    }
    if (status == CLCNN_OK)
        status = clcnn__buffer_acquire(ctx, p->packed_count * sizeof(float), &packed);
    if (status == CLCNN_OK)
        status = enqueue_pack(ctx, w, packed, p, transpose, kernel_h, kernel_w);
    if (status == CLCNN_OK) {
        clcnn__arg_mem(&launch, padded);
        clcnn__arg_mem(&launch, packed);
        /* Absent operands are never read: any buffer will do. */
        cl_mem scale = epilogue != NULL ? epilogue->scale : NULL;
        cl_mem shift = epilogue != NULL ? epilogue->shift : NULL;
        int flags = (bias != NULL ? CONV2D_HAS_BIAS : 0) | (scale != NULL ? CONV2D_HAS_SCALE : 0) |
                    (shift != NULL ? CONV2D_HAS_SHIFT : 0) |
                    (epilogue != NULL && epilogue->relu ? CONV2D_RELU : 0);
        clcnn__arg_mem(&launch, bias != NULL ? bias : packed);
        clcnn__arg_mem(&launch, scale != NULL ? scale : packed);
        clcnn__arg_mem(&launch, shift != NULL ? shift : packed);
        clcnn__arg_int(&launch, (size_t)flags);
        clcnn__arg_mem(&launch, out);
        const size_t values[] = {(size_t)accumulate, p->ins,      p->outs,  p->groups,
                                 p->padded_h,        p->padded_w, p->out_h, p->out_w,
                                 p->row_tiles,       p->y_h,      p->y_w,   p->y_row0,
                                 p->y_col0};
        for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
            clcnn__arg_int(&launch, values[i]);
        size_t out_tiles = (p->outs + p->tiles.kt - 1) / p->tiles.kt;
        /* Pooled: one work-item per pooled row (two output rows). */
        size_t rows = pool ? p->out_h / 2 : p->out_h;
        const size_t global[3] = {rows * p->row_tiles, p->groups * out_tiles, p->n};
        const size_t local[3] = {4, 1, 1};
        status = clcnn__conv2d_launch(&launch, 3, global, local);
    }
    if (packed != NULL)
        clcnn__buffer_release(ctx, packed);
    if (padded != input)
        clcnn__buffer_release(ctx, padded);
    return status;
}

/* ------------------------------------------------------------ entry points */

clcnn_status clcnn__conv2d_direct_forward(clcnn_context *ctx, const clcnn__conv2d_geometry *g,
                                          const clcnn__conv2d_tiles *tiles, cl_mem x, cl_mem w,
                                          cl_mem bias, const clcnn__conv2d_epilogue *epilogue,
                                          cl_mem y) {
    clcnn__conv2d_tiles t = tiles_with(ctx, g, CLCNN__CONV2D_FORWARD, tiles);
    forward_plan p = plan_forward(g, 0, &t);
    return run_forward(ctx, &p, x, w, 0, g->kh, g->kw, bias, epilogue, y, 0);
}

/* Strided backward data: dx zeroed first where some phase takes no tap
 * (unless accumulating), then each phase that does. */
static clcnn_status backward_data_phases(clcnn_context *ctx, const clcnn__conv2d_geometry *g,
                                         const clcnn__conv2d_tiles *tiles, cl_mem dy, cl_mem w,
                                         cl_mem dx, int accumulate) {
    int idle_phase = 0;
    for (size_t a = 0; a < g->sh; a++)
        for (size_t b = 0; b < g->sw; b++) {
            forward_plan p = plan_phase(g, a, b, tiles);
            idle_phase |= p.out_h > 0 && p.out_w > 0 && !phase_runs(&p);
        }
    clcnn_status status = CLCNN_OK;
    if (idle_phase && !accumulate) {
        clcnn__launch fill;
        status = clcnn__launch_prepare(ctx, "util.cl", NULL, "fill_float", &fill);
        size_t count = g->n * g->c * g->h * g->w;
        clcnn__arg_mem(&fill, dx);
        clcnn__arg_ulong(&fill, count);
        clcnn__arg_float(&fill, 0.0f);
        size_t global = clcnn__round_up((count + 63) / 64, 64); /* FILL_CHUNK 64 */
        if (status == CLCNN_OK)
            status = clcnn__launch_run_fitted(&fill, 1, &global, NULL);
    }
    for (size_t a = 0; a < g->sh && status == CLCNN_OK; a++)
        for (size_t b = 0; b < g->sw && status == CLCNN_OK; b++) {
            forward_plan p = plan_phase(g, a, b, tiles);
            if (phase_runs(&p))
                status = run_forward(ctx, &p, dy, w, 1, g->kh, g->kw, NULL, NULL, dx, accumulate);
        }
    return status;
}

clcnn_status clcnn__conv2d_direct_backward_data(clcnn_context *ctx, const clcnn__conv2d_geometry *g,
                                                const clcnn__conv2d_tiles *tiles, cl_mem dy,
                                                cl_mem w, cl_mem dx, int accumulate) {
    clcnn__conv2d_tiles t = tiles_with(ctx, g, CLCNN__CONV2D_BACKWARD_DATA, tiles);
    if (strided_backward_data(g, 1))
        return backward_data_phases(ctx, g, &t, dy, w, dx, accumulate);
    forward_plan p = plan_forward(g, 1, &t);
    return run_forward(ctx, &p, dy, w, 1, g->kh, g->kw, NULL, NULL, dx, accumulate);
}

/* Sets the buffers, then the int `values`, and runs the prepared launch
 * (see clcnn__conv2d_launch for cpu_local). */
static clcnn_status run_with_args(clcnn__launch *launch, const cl_mem *buffers, size_t buffer_count,
                                  const size_t *values, size_t value_count, cl_uint dims,
                                  const size_t *global, const size_t *cpu_local) {
    for (size_t i = 0; i < buffer_count; i++)
        clcnn__arg_mem(launch, buffers[i]);
    for (size_t i = 0; i < value_count; i++)
        clcnn__arg_int(launch, values[i]);
    return clcnn__conv2d_launch(launch, dims, global, cpu_local);
}

clcnn_status clcnn__conv2d_direct_backward_weights(clcnn_context *ctx,
                                                   const clcnn__conv2d_geometry *g, cl_mem x,
                                                   cl_mem dy, cl_mem dw, int accumulate) {
    weight_tiles t = choose_weight_tiles(ctx, g);
    size_t padded_h = g->h + 2 * g->ph, padded_w = g->w + 2 * g->pw;
    size_t positions = g->ho * g->wo, count_j = g->cg * g->kh * g->kw;
    size_t chunks = weight_chunks(g, &t);

    char options[200];
    snprintf(options, sizeof options,
             "-DKH=%zu -DKW=%zu -DDH=%zu -DDW=%zu -DSH=%zu -DSW=%zu -DVW=%zu -DKV=%zu -DCT=%zu "
             "-DRT=%zu",
             g->kh, g->kw, g->dh, g->dw, g->sh, g->sw, t.vw, t.kv, t.ct, t.rt);
    clcnn__launch kernel, transpose, reduce;
    clcnn_status status = clcnn__launch_prepare(ctx, "conv2d_direct_weights.cl", options,
                                                "conv2d_bwd_weights_direct", &kernel);
    if (status == CLCNN_OK)
        status = clcnn__conv2d_prepare(ctx, "conv2d_transpose_grad", &transpose);
    if (status == CLCNN_OK)
        status = clcnn__conv2d_prepare(ctx, "conv2d_reduce_weight_partials", &reduce);
    if (status != CLCNN_OK)
        return status;

    /* The input padded (unless there is no padding), dy transposed to
     * pixel-major order, the partial sums of each chunk of images. */
    cl_mem xp = NULL, dyt = NULL, partial = NULL;
    if (g->ph == 0 && g->pw == 0) {
        xp = x;
    } else {
        status = clcnn__buffer_acquire(ctx, g->n * g->c * padded_h * padded_w * sizeof(float), &xp);
        if (status == CLCNN_OK)
            status =
                enqueue_pad(ctx, x, xp, g->n * g->c, g->h, g->w, padded_h, padded_w, g->ph, g->pw);
    }
    if (status == CLCNN_OK)
        status = clcnn__buffer_acquire(
            ctx, g->n * g->groups * positions * t.outs_padded * sizeof(float), &dyt);
    if (status == CLCNN_OK) {
        const cl_mem buffers[] = {dy, dyt};
        const size_t values[] = {g->n, g->groups, g->kg, t.outs_padded, positions};
        const size_t global[2] = {(positions + 3) / 4, g->n * g->groups}, local[2] = {16, 1};
        status = run_with_args(&transpose, buffers, 2, values, 5, 2, global, local);
    }
    if (status == CLCNN_OK)
        status = clcnn__buffer_acquire(
            ctx, chunks * g->groups * count_j * t.outs_padded * sizeof(float), &partial);
    if (status == CLCNN_OK) {
        const cl_mem buffers[] = {xp, dyt, partial};
        const size_t values[] = {g->cg, t.outs_padded, g->groups,    padded_h, padded_w,
                                 g->ho, g->wo,         t.chunk_rows, chunks,   g->n * g->ho};
        const size_t global[3] = {g->cg / t.ct * (g->kh / t.rt),
                                  g->groups * (t.outs_padded / (t.vw * t.kv)), chunks};
        const size_t local[3] = {4, 1, 1};
        status = run_with_args(&kernel, buffers, 3, values, 10, 3, global, local);
    }
    if (status == CLCNN_OK) {
        const cl_mem buffers[] = {partial, dw};
        const size_t values[] = {g->groups, g->kg,  t.outs_padded,
                                 count_j,   chunks, (size_t)accumulate};
        const size_t global = g->groups * count_j, local = 16;
        status = run_with_args(&reduce, buffers, 2, values, 6, 1, &global, &local);
    }
    if (partial != NULL)
        clcnn__buffer_release(ctx, partial);
    if (dyt != NULL)
        clcnn__buffer_release(ctx, dyt);
    if (xp != NULL && xp != x)
        clcnn__buffer_release(ctx, xp);
    return status;
}
