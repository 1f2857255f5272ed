/* Auto-tuning (clcnn/tune.h, runtime/tuning.c, ops/conv2d_tune.c): tuning a
 * conv shape stores a winner per pass that AUTO then runs; the table saved
 * beside the program cache is read back by a new context; every choice the
 * tuner can store computes what the double reference does; corrupt,
 * truncated, foreign-version and other-device files are ignored (and
 * reported by the explicit load); inapplicable entries fall back to the
 * built-in choice; CLCNN_TUNING=0, the disk cache switch and clear; files
 * that may not be trusted (writable by others, a FIFO, in a directory others
 * may write) are ignored and counted, and saved files are private; every
 * bad argument with its exact status.
 *
 * The same for the GEMM (clcnn_gemm_tune) and the element-wise launch
 * layouts (clcnn_pointwise_tune).
 *
 * Tolerance (as test_conv2d): |got - ref| <= 2e-5 * S per element, S the
 * sum of the absolute values of the products that make it; GEMM as
 * test_gemm: (k + 4) * FLT_EPSILON * S; ReLU and add must be exact (the
 * reference rounded to float). Every context
 * shares one temporary cache directory (so programs build once); each test
 * starts with no tuning file in it. Under CLCNN_TEST_SMALL the shapes are
 * tiny and the tuner measures each candidate once. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <float.h>

#include "clcnn/activation.h"
#include "clcnn/conv2d.h"
#include "clcnn/elementwise.h"
#include "clcnn/gemm.h"
#include "clcnn/tune.h"
#include "ops/conv2d_tune.h"
#include "ops/gemm.h"
#include "ops/pointwise.h"
#include "ref/conv2d_ref.h"
#include "ref/gemm_ref.h"
#include "support/test_support.h"

#define CONV_TOLERANCE 2e-5

static const char *const pass_prefix[3] = {
    "conv2d.fwd:", "conv2d.bwd_data:", "conv2d.bwd_weights:"};

/* ---------------------------------------------------------------- fixture */

typedef struct fixture {
    char *dir;            /* the shared cache directory */
    clcnn_context *plain; /* never tuned: the built-in choices */
} fixture;

static clcnn_context *context_on(const char *dir, int disk_cache) {
    clcnn_context_options options = clcnn_context_options_default();
    options.cache_dir = dir;
    options.disk_cache = disk_cache;
    return ts_context_create_with(&options);
}

/* Removes the tuning files (and any temporary one) from dir. */
static void remove_tuning_files(const char *dir) {
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *entry;
    while ((entry = readdir(d)) != NULL) {
        if (strncmp(entry->d_name, "tuning-", 7) != 0 && strncmp(entry->d_name, ".tmp-", 5) != 0)
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, entry->d_name);
        assert_int_equal(unlink(path), 0);
    }
    closedir(d);
}

static size_t count_prefixed(const char *dir, const char *prefix) {
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    size_t count = 0;
    struct dirent *entry;
    while ((entry = readdir(d)) != NULL)
        count += strncmp(entry->d_name, prefix, strlen(prefix)) == 0;
    closedir(d);
    return count;
}

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    f->dir = ts_temp_dir_create();
    f->plain = context_on(f->dir, CLCNN_CACHE_ON);
    if (clcnn_context_clear_tuning(f->plain) != CLCNN_OK)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    clcnn_context_destroy(f->plain);
    ts_temp_dir_remove(f->dir);
    free(f);
    return 0;
}

static int before_each(void **state) {
    fixture *f = *state;
    remove_tuning_files(f->dir);
    return 0;
}

/* ----------------------------------------------------------------- shapes */

typedef struct shape {
    size_t x[4], w[4];
    clcnn_conv2d_params p;
} shape;

/* Odd sizes, a width no tile divides; stride 1 so DIRECT applies. */
static shape stride1_shape(void) {
    shape s = {{2, 3, 7, 19}, {5, 3, 3, 3}, clcnn_conv2d_params_default()};
    if (!ts_small()) {
        s.x[0] = 3, s.x[1] = 6, s.x[2] = 11, s.x[3] = 37;
        s.w[0] = 10, s.w[1] = 6;
    }
    s.p.pad_h = s.p.pad_w = 1;
    return s;
}

/* A stride DIRECT's forward does not take (its columns load at stride 1 or
 * 2), so a stored "direct" entry cannot apply to it. */
static shape stride3_shape(void) {
    shape s = {{1, 2, 7, 8}, {3, 2, 3, 3}, clcnn_conv2d_params_default()};
    s.p.stride_h = s.p.stride_w = 3;
    s.p.pad_h = s.p.pad_w = 1;
    return s;
}

static size_t tune_repeats(void) {
    return ts_small() ? 1 : 3;
}

static void choice_of(clcnn_context *ctx, const shape *s, int pass, char *out) {
    clcnn__tuned_choice choice;
    TS_ASSERT_OK(
        ctx, clcnn__conv2d_auto_choice(ctx, &s->p, s->x, s->w, (clcnn__conv2d_pass)pass, &choice));
    clcnn__tuned_choice_format(&choice, out, CLCNN_TUNE_CHOICE_MAX);
}

static void key_of(const shape *s, int pass, char *key) {
    clcnn__conv2d_geometry g = {0};
    g.n = s->x[0], g.c = s->x[1], g.h = s->x[2], g.w = s->x[3];
    g.k = s->w[0], g.kh = s->w[2], g.kw = s->w[3];
    g.sh = s->p.stride_h, g.sw = s->p.stride_w, g.ph = s->p.pad_h, g.pw = s->p.pad_w;
    g.dh = s->p.dilation_h, g.dw = s->p.dilation_w, g.groups = s->p.groups;
    assert_true(clcnn__conv2d_tuning_key(&g, (clcnn__conv2d_pass)pass, key, CLCNN_TUNE_KEY_MAX));
}

/* Asserts AUTO's choice on ctx for the pass is `expected`. */
static void assert_choice(clcnn_context *ctx, const shape *s, int pass, const char *expected) {
    char got[CLCNN_TUNE_CHOICE_MAX];
    choice_of(ctx, s, pass, got);
    assert_string_equal(got, expected);
}

/* Asserts AUTO on ctx picks the built-in choice for every pass. */
static void assert_defaults(const fixture *f, clcnn_context *ctx, const shape *s) {
    for (int pass = 0; pass < 3; pass++) {
        char expected[CLCNN_TUNE_CHOICE_MAX];
        choice_of(f->plain, s, pass, expected);
        assert_choice(ctx, s, pass, expected);
    }
}

/* ------------------------------------------------------- checked results */

static conv2d_ref_shape ref_of(const shape *s) {
    conv2d_ref_shape r = {s->x[0],         s->x[1],     s->x[2],    s->x[3],
                          s->w[0],         s->w[2],     s->w[3],    s->p.stride_h,
                          s->p.stride_w,   s->p.pad_h,  s->p.pad_w, s->p.dilation_h,
                          s->p.dilation_w, s->p.groups, 0,          0};
    assert_true(conv2d_ref_complete(&r));
    return r;
}

static double *doubles(const float *data, size_t count, int absolute) {
    double *out = ts_malloc(count * sizeof *out);
    for (size_t i = 0; i < count; i++)
        out[i] = absolute ? fabs((double)data[i]) : (double)data[i];
    return out;
}

static void assert_close(const float *got, const double *ref, const double *scale, size_t count,
                         const char *what) {
    for (size_t i = 0; i < count; i++) {
        double limit = CONV_TOLERANCE * scale[i] + 1e-30;
        if (!(fabs((double)got[i] - ref[i]) <= limit)) {
            print_error("%s: element %zu is %.9g, reference %.9g (limit %.3g)\n", what, i,
                        (double)got[i], ref[i], limit);
            fail();
        }
    }
}

/* Runs pass `pass` with AUTO on ctx on random data and checks it against
 * the reference. */
static void check_pass(clcnn_context *ctx, const shape *s, int pass, const char *what) {
    conv2d_ref_shape r = ref_of(s);
    size_t xn = conv2d_ref_x_count(&r), wn = conv2d_ref_w_count(&r), yn = conv2d_ref_y_count(&r);
    size_t y_dims[4];
    TS_ASSERT_OK(NULL, clcnn_conv2d_output_shape(&s->p, s->x, s->w, y_dims));
    float *x = ts_random_floats(xn, 11, -1.0f, 1.0f);
    float *w = ts_random_floats(wn, 12, -1.0f, 1.0f);
    float *dy = ts_random_floats(yn, 13, -1.0f, 1.0f);
    clcnn_tensor *xt = ts_tensor_create(ctx, 4, s->x, x);
    clcnn_tensor *wt = ts_tensor_create(ctx, 4, s->w, w);
    clcnn_tensor *yt = ts_tensor_create(ctx, 4, y_dims, dy);
    clcnn_tensor *out = NULL;
    double *a = NULL, *b = NULL, *abs_a = NULL, *abs_b = NULL, *ref = NULL, *scale = NULL;
    size_t count = 0;
    if (pass == CLCNN__CONV2D_FORWARD) {
        out = ts_tensor_filled(ctx, 4, y_dims, NAN);
        TS_ASSERT_OK(ctx, clcnn_conv2d_forward(ctx, &s->p, xt, wt, NULL, out));
        count = yn, a = doubles(x, xn, 0), b = doubles(w, wn, 0);
        abs_a = doubles(x, xn, 1), abs_b = doubles(w, wn, 1);
        ref = ts_malloc(count * sizeof *ref), scale = ts_malloc(count * sizeof *scale);
        conv2d_ref_forward(&r, a, b, NULL, ref);
        conv2d_ref_forward(&r, abs_a, abs_b, NULL, scale);
    } else if (pass == CLCNN__CONV2D_BACKWARD_DATA) {
        out = ts_tensor_filled(ctx, 4, s->x, NAN);
        TS_ASSERT_OK(ctx,
                     clcnn_conv2d_backward_data(ctx, &s->p, yt, wt, out, CLCNN_GRAD_OVERWRITE));
        count = xn, a = doubles(dy, yn, 0), b = doubles(w, wn, 0);
        abs_a = doubles(dy, yn, 1), abs_b = doubles(w, wn, 1);
        ref = ts_malloc(count * sizeof *ref), scale = ts_malloc(count * sizeof *scale);
        conv2d_ref_backward_data(&r, a, b, ref);
        conv2d_ref_backward_data(&r, abs_a, abs_b, scale);
    } else {
        out = ts_tensor_filled(ctx, 4, s->w, NAN);
        TS_ASSERT_OK(ctx, clcnn_conv2d_backward_weights(ctx, &s->p, xt, yt, out, NULL,
                                                        CLCNN_GRAD_OVERWRITE));
        count = wn, a = doubles(x, xn, 0), b = doubles(dy, yn, 0);
        abs_a = doubles(x, xn, 1), abs_b = doubles(dy, yn, 1);
        ref = ts_malloc(count * sizeof *ref), scale = ts_malloc(count * sizeof *scale);
        conv2d_ref_backward_weights(&r, a, b, ref);
        conv2d_ref_backward_weights(&r, abs_a, abs_b, scale);
    }
    float *got = ts_tensor_read_all(out);
    assert_close(got, ref, scale, count, what);
    free(got);
    free(a), free(b), free(abs_a), free(abs_b), free(ref), free(scale);
    clcnn_tensor_destroy(out);
    clcnn_tensor_destroy(xt), clcnn_tensor_destroy(wt), clcnn_tensor_destroy(yt);
    free(x), free(w), free(dy);
}

/* ------------------------------------------------------------------ files */

static char *tuning_file(const char *dir) {
    char *path = ts_dir_find(dir, ".json");
    assert_non_null(path);
    return path;
}

static char *read_text(const char *path) {
    FILE *file = fopen(path, "rb");
    assert_non_null(file);
    assert_int_equal(fseek(file, 0, SEEK_END), 0);
    long length = ftell(file);
    assert_true(length > 0);
    rewind(file);
    char *text = ts_malloc((size_t)length + 1);
    assert_int_equal(fread(text, 1, (size_t)length, file), (size_t)length);
    text[length] = '\0';
    fclose(file);
    return text;
}

static void write_text(const char *path, const char *text, size_t length) {
    FILE *file = fopen(path, "wb");
    assert_non_null(file);
    assert_int_equal(fwrite(text, 1, length, file), length);
    assert_int_equal(fclose(file), 0);
}

/* text with the first `from` replaced by `to` (malloc'ed). */
static char *replaced(const char *text, const char *from, const char *to) {
    const char *at = strstr(text, from);
    assert_non_null(at);
    size_t head = (size_t)(at - text), size = strlen(text) - strlen(from) + strlen(to) + 1;
    char *out = ts_malloc(size);
    snprintf(out, size, "%.*s%s%s", (int)head, text, to, at + strlen(from));
    return out;
}

/* ---------------------------------------------------------------- entries */

/* The choice `text` names for key's family (what a tuning file's entry
 * goes through). */
static clcnn__tuned_choice parsed(const char *key, const char *text) {
    clcnn__tuned_family family;
    clcnn__tuned_choice choice;
    assert_true(clcnn__tuned_family_of(key, &family));
    if (!clcnn__tuned_choice_parse(family, text, &choice))
        fail_msg("\"%s\" is no choice for %s", text, key);
    return choice;
}

/* Stores the choice `text` names under key. */
static void set_entry(clcnn_context *ctx, const char *key, const char *text, double ms,
                      double default_ms) {
    clcnn__tuned_choice choice = parsed(key, text);
    TS_ASSERT_OK(ctx, clcnn__tuning_set(ctx, key, &choice, ms, default_ms));
}

/* The stored entry of key as text. */
static void entry_text(clcnn_context *ctx, const char *key, char *out) {
    const clcnn__tuning_entry *entry = clcnn__tuning_find(ctx, key);
    assert_non_null(entry);
    clcnn__tuned_choice_format(&entry->choice, out, CLCNN_TUNE_CHOICE_MAX);
}

static void assert_entry(clcnn_context *ctx, const char *key, const char *expected) {
    char got[CLCNN_TUNE_CHOICE_MAX];
    entry_text(ctx, key, got);
    assert_string_equal(got, expected);
}

/* Loads {key: {"choice": text}} into ctx's table through a tuning file, as
 * a stored table comes: ctx's table (less key) is saved to a directory of
 * its own with the entry added, and loaded back. Texts that name no choice
 * of the key's family can only come this way. */
static void load_entry(clcnn_context *ctx, const char *key, const char *text) {
    clcnn__tuning_remove(ctx, key);
    char *dir = ts_temp_dir_create();
    TS_ASSERT_OK(ctx, clcnn_context_save_tuning(ctx, dir));
    char *path = tuning_file(dir), *saved = read_text(path);
    char member[CLCNN_TUNE_KEY_MAX + 128], *edited;
    int empty = strstr(saved, "\"entries\": {}") != NULL;
    snprintf(member, sizeof member, "\"entries\": {\"%s\": {\"choice\": \"%s\"}%s", key, text,
             empty ? "}" : ",");
    edited = replaced(saved, empty ? "\"entries\": {}" : "\"entries\": {", member);
    write_text(path, edited, strlen(edited));
    TS_ASSERT_OK(ctx, clcnn_context_load_tuning(ctx, dir));
    free(edited), free(saved), free(path);
    ts_temp_dir_remove(dir);
}

/* Saves a table in which the stride-1 shape's forward runs GENERAL (never
 * the built-in choice of a stride-1 shape on any device). */
static void save_general_forward(const fixture *f, const shape *s) {
    clcnn_context *ctx = context_on(f->dir, CLCNN_CACHE_ON);
    char key[CLCNN_TUNE_KEY_MAX];
    key_of(s, CLCNN__CONV2D_FORWARD, key);
    set_entry(ctx, key, "general", 1.0, 2.0);
    TS_ASSERT_OK(ctx, clcnn_context_save_tuning(ctx, NULL));
    clcnn_context_destroy(ctx);
}

/* ------------------------------------------------------------------ tests */

/* Tuning stores a winner per pass, AUTO runs it, the saved table is read
 * back by a new context on the same directory, and results stay right. */
static void test_tune_save_reload(void **state) {
    fixture *f = *state;
    shape s = stride1_shape();
    clcnn_context *ctx = context_on(f->dir, CLCNN_CACHE_ON);
    clcnn_tune_result results[CLCNN_CONV2D_TUNE_PASSES];
    size_t count = 99;
    TS_ASSERT_OK(ctx, clcnn_conv2d_tune(ctx, &s.p, s.x, s.w, tune_repeats(), results, &count));
    assert_int_equal(count, 3);
    for (int pass = 0; pass < 3; pass++) {
        const clcnn_tune_result *r = &results[pass];
        char key[CLCNN_TUNE_KEY_MAX], expected[CLCNN_TUNE_CHOICE_MAX];
        key_of(&s, pass, key);
        assert_string_equal(r->key, key);
        TS_ASSERT_CONTAINS(r->key, pass_prefix[pass]);
        choice_of(f->plain, &s, pass, expected);
        assert_string_equal(r->default_choice, expected);
        assert_true(r->default_ms > 0.0 && r->best_ms > 0.0 && r->best_ms <= r->default_ms);
        /* GENERAL and DIRECT at least (stride 1), besides the default. */
        assert_true(r->candidates >= 2);
        assert_choice(ctx, &s, pass, r->choice);
        assert_entry(ctx, key, r->choice);
        const clcnn__tuning_entry *entry = clcnn__tuning_find(ctx, key);
        assert_true(entry->ms == r->best_ms && entry->default_ms == r->default_ms);
    }
    assert_int_equal(count_prefixed(f->dir, "tuning-"), 0); /* not saved yet */
    /* Make the forward's entry a choice that is never the default, so the
     * reload is visible whatever won. */
    set_entry(ctx, results[0].key, "general", 1.0, 2.0);
    TS_ASSERT_OK(ctx, clcnn_context_save_tuning(ctx, NULL));
    assert_int_equal(count_prefixed(f->dir, "tuning-"), 1);
    assert_int_equal(count_prefixed(f->dir, ".tmp-"), 0); /* no temporary left */
    clcnn_context_destroy(ctx);

    clcnn_context *again = context_on(f->dir, CLCNN_CACHE_ON);
    assert_choice(again, &s, 0, "general");
    for (int pass = 1; pass < 3; pass++)
        assert_choice(again, &s, pass, results[pass].choice);
    for (int pass = 0; pass < 3; pass++)
        check_pass(again, &s, pass, results[pass].key);
    /* Results and count are optional. */
    TS_ASSERT_OK(again, clcnn_conv2d_tune(again, &s.p, s.x, s.w, 1, NULL, NULL));
    clcnn_context_destroy(again);
}

/* Every choice the tuner may store is applied as stored and computes what
 * the reference does. */
static void test_every_choice_correct(void **state) {
    fixture *f = *state;
    shape s = stride1_shape();
    clcnn_context *ctx = context_on(f->dir, CLCNN_CACHE_OFF);
    clcnn__conv2d_geometry g = {0};
    g.n = s.x[0], g.c = s.x[1], g.h = s.x[2], g.w = s.x[3], g.k = s.w[0], g.kh = 3, g.kw = 3;
    g.sh = g.sw = g.dh = g.dw = g.groups = 1, g.ph = g.pw = 1;
    g.ho = s.x[2], g.wo = s.x[3], g.cg = s.x[1], g.kg = s.w[0];
    for (int pass = 0; pass < 3; pass++) {
        char key[CLCNN_TUNE_KEY_MAX];
        key_of(&s, pass, key);
        char choices[8][CLCNN_TUNE_CHOICE_MAX];
        size_t count = 0;
        snprintf(choices[count++], CLCNN_TUNE_CHOICE_MAX, "general");
        if (clcnn__conv2d_tiled_supports(ctx, &g, (clcnn__conv2d_pass)pass))
            snprintf(choices[count++], CLCNN_TUNE_CHOICE_MAX, "tiled");
        if (pass == CLCNN__CONV2D_BACKWARD_WEIGHTS) {
            snprintf(choices[count++], CLCNN_TUNE_CHOICE_MAX, "direct");
        } else {
            clcnn__conv2d_tiles tiles[CLCNN__CONV2D_MAX_TILE_CANDIDATES];
            size_t n = clcnn__conv2d_direct_tile_candidates(&g, (clcnn__conv2d_pass)pass, tiles);
            assert_true(n >= 3); /* the built-in table's rows */
            for (size_t i = 0; i < n; i++)
                snprintf(choices[count++], CLCNN_TUNE_CHOICE_MAX, "direct kt=%zu vw=%zu wv=%zu",
                         tiles[i].kt, tiles[i].vw, tiles[i].wv);
        }
        for (size_t i = 0; i < count; i++) {
            set_entry(ctx, key, choices[i], 0.0, 0.0);
            assert_choice(ctx, &s, pass, choices[i]);
            char what[CLCNN_TUNE_KEY_MAX + CLCNN_TUNE_CHOICE_MAX];
            snprintf(what, sizeof what, "%s %s", key, choices[i]);
            check_pass(ctx, &s, pass, what);
        }
    }
    clcnn_context_destroy(ctx);
}

/* Broken files are ignored by contexts (built-in choices, conv still
 * right) and reported by the explicit load. */
static void test_bad_files_ignored(void **state) {
    fixture *f = *state;
    shape s = stride1_shape();
    save_general_forward(f, &s);
    char *path = tuning_file(f->dir);
    char *good = read_text(path);
    char *wrong_version = replaced(good, "\"version\": 1", "\"version\": 2");
    char *other_device = replaced(good, "\"device\": \"", "\"device\": \"another ");
    char *no_entries = replaced(good, "\"entries\": {", "\"entries\": [], \"x\": {");
    const struct {
        const char *name, *text;
        size_t length;
    } files[] = {
        {"garbage", "\x01\x02not json at all", 17},
        {"truncated", good, strlen(good) / 2},
        {"empty", "", 0},
        {"wrong version", wrong_version, strlen(wrong_version)},
        {"other device", other_device, strlen(other_device)},
        {"entries not an object", no_entries, strlen(no_entries)},
        {"array", "[1, 2, 3]", 9},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        write_text(path, files[i].text, files[i].length);
        clcnn_context *ctx = context_on(f->dir, CLCNN_CACHE_ON);
        assert_defaults(f, ctx, &s);
        check_pass(ctx, &s, CLCNN__CONV2D_FORWARD, files[i].name);
        TS_ASSERT_STATUS(ctx, CLCNN_ERROR_CORRUPT_FILE, clcnn_context_load_tuning(ctx, NULL));
        TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "tuning");
        assert_defaults(f, ctx, &s);
        clcnn_context_destroy(ctx);
    }
    /* The intact file still works, and a missing one is NOT_FOUND. */
    write_text(path, good, strlen(good));
    clcnn_context *ctx = context_on(f->dir, CLCNN_CACHE_ON);
    assert_choice(ctx, &s, CLCNN__CONV2D_FORWARD, "general");
    TS_ASSERT_OK(ctx, clcnn_context_load_tuning(ctx, NULL));
    assert_int_equal(unlink(path), 0);
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_NOT_FOUND, clcnn_context_load_tuning(ctx, NULL));
    assert_choice(ctx, &s, CLCNN__CONV2D_FORWARD, "general"); /* table kept */
    clcnn_context_destroy(ctx);
    free(good), free(wrong_version), free(other_device), free(no_entries), free(path);
}

static unsigned mode_of(const char *path) {
    struct stat info;
    assert_int_equal(lstat(path, &info), 0);
    return (unsigned)(info.st_mode & 07777);
}

/* A context on f->dir ignores the stored table (built-in choices), counts
 * one untrusted file with a reason saying `why`, and the explicit load
 * refuses it with CLCNN_ERROR_IO and the same reason. */
static void expect_tuning_refused(const fixture *f, const shape *s, const char *path,
                                  const char *why) {
    clcnn_context *ctx = context_on(f->dir, CLCNN_CACHE_ON);
    assert_defaults(f, ctx, s);
    clcnn_cache_stats stats;
    TS_ASSERT_OK(ctx, clcnn_context_cache_stats(ctx, &stats));
    assert_int_equal(stats.disk_untrusted, 1);
    TS_ASSERT_CONTAINS(stats.untrusted_reason, path);
    TS_ASSERT_CONTAINS(stats.untrusted_reason, why);
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_IO, clcnn_context_load_tuning(ctx, NULL));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "untrusted");
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), why);
    assert_defaults(f, ctx, s);
    clcnn_context_destroy(ctx);
}

/* Tuning files are saved private to the user, and one that others may
 * write, a FIFO in its place (which must not hang the read: the alarm
 * fails the test if it does) or one in a directory others may write is not
 * read. */
static void test_untrusted_files_refused(void **state) {
    fixture *f = *state;
    shape s = stride1_shape();
    save_general_forward(f, &s);
    char *path = tuning_file(f->dir);
    assert_int_equal(mode_of(path), 0600);
    assert_int_equal(chmod(path, 0666), 0);
    expect_tuning_refused(f, &s, path, "writable by others");
    assert_int_equal(chmod(path, 0660), 0);
    expect_tuning_refused(f, &s, path, "writable by its group");

    assert_int_equal(unlink(path), 0);
    assert_int_equal(mkfifo(path, 0600), 0);
    alarm(120);
    expect_tuning_refused(f, &s, path, "not a regular file");
    alarm(0);
    save_general_forward(f, &s); /* replaces the FIFO */
    assert_int_equal(mode_of(path), 0600);
    clcnn_context *ctx = context_on(f->dir, CLCNN_CACHE_ON);
    assert_choice(ctx, &s, CLCNN__CONV2D_FORWARD, "general");

    char *other = ts_temp_dir_create();
    TS_ASSERT_OK(ctx, clcnn_context_save_tuning(ctx, other));
    clcnn_context_destroy(ctx);
    assert_int_equal(chmod(other, 0777), 0);
    ctx = context_on(f->dir, CLCNN_CACHE_OFF);
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_IO, clcnn_context_load_tuning(ctx, other));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), other);
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "writable by others");
    assert_defaults(f, ctx, &s);
    assert_int_equal(chmod(other, 0700), 0);
    TS_ASSERT_OK(ctx, clcnn_context_load_tuning(ctx, other));
    assert_choice(ctx, &s, CLCNN__CONV2D_FORWARD, "general");
    clcnn_context_destroy(ctx);
    ts_temp_dir_remove(other);
    free(path);
}

/* Entries that do not apply fall back to the built-in choice; unknown keys
 * and malformed entries are ignored. */
static void test_inapplicable_entries(void **state) {
    fixture *f = *state;
    shape s1 = stride1_shape(), s2 = stride3_shape();
    char key1[CLCNN_TUNE_KEY_MAX], key2[CLCNN_TUNE_KEY_MAX];
    key_of(&s1, CLCNN__CONV2D_FORWARD, key1);
    key_of(&s2, CLCNN__CONV2D_FORWARD, key2);
    char default2[CLCNN_TUNE_CHOICE_MAX];
    choice_of(f->plain, &s2, CLCNN__CONV2D_FORWARD, default2);

    clcnn_context *ctx = context_on(f->dir, CLCNN_CACHE_ON);
    /* DIRECT does not accept stride 3. */
    set_entry(ctx, key2, "direct", 0.0, 0.0);
    assert_choice(ctx, &s2, CLCNN__CONV2D_FORWARD, default2);
    check_pass(ctx, &s2, CLCNN__CONV2D_FORWARD, "stride 3 with a direct entry");
    /* Tiles that are not candidates: DIRECT with the built-in tiles. */
    set_entry(ctx, key1, "direct", 0.0, 0.0);
    char direct_default[CLCNN_TUNE_CHOICE_MAX];
    choice_of(ctx, &s1, CLCNN__CONV2D_FORWARD, direct_default);
    TS_ASSERT_CONTAINS(direct_default, "direct kt=");
    set_entry(ctx, key1, "direct kt=7 vw=16 wv=2", 0.0, 0.0);
    assert_choice(ctx, &s1, CLCNN__CONV2D_FORWARD, direct_default);
    check_pass(ctx, &s1, CLCNN__CONV2D_FORWARD, "direct with tiles that are not candidates");
    /* Names that are no choice at all: a stored table may hold them, and
     * they are dropped as it is read. */
    const char *nonsense[] = {"winograd",
                              "direct kt=8",
                              "direct kt=8 vw=16 wv=2 extra",
                              "GENERAL",
                              "direct kt=+8 vw=16 wv=2",
                              ""};
    char default1[CLCNN_TUNE_CHOICE_MAX];
    choice_of(f->plain, &s1, CLCNN__CONV2D_FORWARD, default1);
    for (size_t i = 0; i < sizeof nonsense / sizeof nonsense[0]; i++) {
        load_entry(ctx, key1, nonsense[i]);
        assert_null(clcnn__tuning_find(ctx, key1));
        assert_choice(ctx, &s1, CLCNN__CONV2D_FORWARD, default1);
    }
    /* The same through the context's own file, with entries of unknown ops
     * and bad values, which are dropped while the rest is kept. */
    set_entry(ctx, key1, "direct kt=7 vw=16 wv=2", 0.0, 0.0);
    TS_ASSERT_OK(ctx, clcnn_context_save_tuning(ctx, NULL));
    clcnn_context_destroy(ctx);
    char *path = tuning_file(f->dir);
    char *text = read_text(path);
    char *edited = replaced(text, "\"entries\": {",
                            "\"entries\": {\"conv2d.fwd:bad\": 5, \"conv2d.fwd:x\": {\"ms\": 1}, "
                            "\"gemm.future:1x2x3\": {\"choice\": \"something\"}, "
                            "\"conv2d.bwd_data:y\": {\"choice\": \"clblast\"},");
    write_text(path, edited, strlen(edited));
    ctx = context_on(f->dir, CLCNN_CACHE_ON);
    assert_choice(ctx, &s1, CLCNN__CONV2D_FORWARD, direct_default);
    assert_choice(ctx, &s2, CLCNN__CONV2D_FORWARD, default2);
    assert_entry(ctx, key1, "direct kt=7 vw=16 wv=2");
    assert_entry(ctx, key2, "direct");
    assert_null(clcnn__tuning_find(ctx, "gemm.future:1x2x3"));
    assert_null(clcnn__tuning_find(ctx, "conv2d.fwd:bad"));
    assert_null(clcnn__tuning_find(ctx, "conv2d.fwd:x"));
    assert_null(clcnn__tuning_find(ctx, "conv2d.bwd_data:y"));
    assert_int_equal(clcnn__tuning_count(ctx), 2);
    TS_ASSERT_OK(ctx, clcnn_context_load_tuning(ctx, NULL));
    clcnn_context_destroy(ctx);
    free(text), free(edited), free(path);
}

/* CLCNN_TUNING=0 makes contexts ignore the stored table. */
static void test_environment_switch(void **state) {
    fixture *f = *state;
    shape s = stride1_shape();
    save_general_forward(f, &s);
    ts_saved_env saved;
    ts_env_set(&saved, "CLCNN_TUNING", "0");
    clcnn_context *ctx = context_on(f->dir, CLCNN_CACHE_ON);
    assert_defaults(f, ctx, &s);
    TS_ASSERT_OK(ctx, clcnn_context_load_tuning(ctx, NULL));
    assert_defaults(f, ctx, &s);
    clcnn_context_destroy(ctx);
    ts_env_restore(&saved);
    ctx = context_on(f->dir, CLCNN_CACHE_ON);
    assert_choice(ctx, &s, CLCNN__CONV2D_FORWARD, "general");
    clcnn_context_destroy(ctx);
}

/* With the disk cache off tuning stays in memory; explicit directories
 * still save and load. */
static void test_cache_off_and_directories(void **state) {
    fixture *f = *state;
    shape s = stride1_shape();
    save_general_forward(f, &s);
    clcnn_context *ctx = context_on(f->dir, CLCNN_CACHE_OFF);
    assert_defaults(f, ctx, &s); /* the file beside the (off) cache is not read */
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_NOT_FOUND, clcnn_context_load_tuning(ctx, NULL));
    char key[CLCNN_TUNE_KEY_MAX];
    key_of(&s, CLCNN__CONV2D_BACKWARD_WEIGHTS, key);
    set_entry(ctx, key, "general", 0.0, 0.0);
    assert_choice(ctx, &s, CLCNN__CONV2D_BACKWARD_WEIGHTS, "general");
    char *other = ts_temp_dir_create();
    TS_ASSERT_OK(ctx, clcnn_context_save_tuning(ctx, NULL)); /* memory only */
    assert_int_equal(count_prefixed(other, "tuning-"), 0);
    char nested[4096];
    snprintf(nested, sizeof nested, "%s/a/b", other);
    TS_ASSERT_OK(ctx, clcnn_context_save_tuning(ctx, nested)); /* made on demand */
    assert_int_equal(count_prefixed(nested, "tuning-"), 1);
    clcnn_context_destroy(ctx);

    ctx = context_on(f->dir, CLCNN_CACHE_OFF);
    TS_ASSERT_OK(ctx, clcnn_context_load_tuning(ctx, f->dir));
    assert_choice(ctx, &s, CLCNN__CONV2D_FORWARD, "general");
    TS_ASSERT_OK(ctx, clcnn_context_load_tuning(ctx, nested)); /* merges */
    assert_choice(ctx, &s, CLCNN__CONV2D_FORWARD, "general");
    assert_choice(ctx, &s, CLCNN__CONV2D_BACKWARD_WEIGHTS, "general");
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_NOT_FOUND, clcnn_context_load_tuning(ctx, other));
    clcnn_context_destroy(ctx);
    ts_temp_dir_remove(other);
}

/* clear forgets the table and keeps the file from being read again. */
static void test_clear(void **state) {
    fixture *f = *state;
    shape s = stride1_shape();
    save_general_forward(f, &s);
    clcnn_context *ctx = context_on(f->dir, CLCNN_CACHE_ON);
    assert_choice(ctx, &s, CLCNN__CONV2D_FORWARD, "general");
    TS_ASSERT_OK(ctx, clcnn_context_clear_tuning(ctx));
    assert_defaults(f, ctx, &s);
    assert_int_equal(clcnn__tuning_count(ctx), 0);
    TS_ASSERT_OK(ctx, clcnn_context_save_tuning(ctx, NULL));
    clcnn_context_destroy(ctx);
    ctx = context_on(f->dir, CLCNN_CACHE_ON);
    assert_defaults(f, ctx, &s);
    assert_int_equal(clcnn__tuning_count(ctx), 0);
    clcnn_context_destroy(ctx);
}

static void test_bad_arguments(void **state) {
    fixture *f = *state;
    shape s = stride1_shape();
    clcnn_context *ctx = context_on(f->dir, CLCNN_CACHE_ON);
    clcnn_tune_result results[3];
    size_t count = 7;
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_conv2d_tune(NULL, &s.p, s.x, s.w, 1, results, &count));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_conv2d_tune(ctx, NULL, s.x, s.w, 1, results, &count));
    assert_int_equal(count, 0);
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_conv2d_tune(ctx, &s.p, NULL, s.w, 1, results, &count));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_conv2d_tune(ctx, &s.p, s.x, NULL, 1, results, &count));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_conv2d_tune(ctx, &s.p, s.x, s.w, 0, results, &count));
    shape bad = s;
    bad.p.stride_w = 0;
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_conv2d_tune(ctx, &bad.p, bad.x, bad.w, 1, results, &count));
    bad = s;
    bad.w[1] = s.x[1] + 1; /* input channels disagree */
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn_conv2d_tune(ctx, &bad.p, bad.x, bad.w, 1, results, &count));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "conv2d_tune");
    bad = s;
    bad.x[2] = 0;
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn_conv2d_tune(ctx, &bad.p, bad.x, bad.w, 1, results, &count));
    /* A padded height past the kernels' 32-bit indices (the shape rules
     * allow it: pad 2^31 <= dilation 2^31 x (3 - 1), output 1 x 1). */
    shape tall = {{1, 1, 1, 1}, {1, 1, 3, 1}, clcnn_conv2d_params_default()};
    tall.p.dilation_h = tall.p.pad_h = (size_t)1 << 31;
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_SIZE_OVERFLOW,
                     clcnn_conv2d_tune(ctx, &tall.p, tall.x, tall.w, 1, results, &count));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "padded size");
    assert_int_equal(clcnn__tuning_count(ctx), 0); /* nothing stored */

    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_context_save_tuning(NULL, NULL));
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_context_load_tuning(NULL, NULL));
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_context_clear_tuning(NULL));
    /* A directory below a regular file cannot be made. */
    char blocked[4096];
    snprintf(blocked, sizeof blocked, "%s/plain-file", f->dir);
    write_text(blocked, "x", 1);
    snprintf(blocked, sizeof blocked, "%s/plain-file/sub", f->dir);
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_IO, clcnn_context_save_tuning(ctx, blocked));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "plain-file");
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), strerror(ENOTDIR));
    snprintf(blocked, sizeof blocked, "%s/plain-file", f->dir);
    assert_int_equal(unlink(blocked), 0);
    /* A directory where the file goes: the system's reason and the path. */
    char *other = ts_temp_dir_create();
    TS_ASSERT_OK(ctx, clcnn_context_save_tuning(ctx, other));
    char *path = tuning_file(other);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(mkdir(path, 0700), 0);
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_IO, clcnn_context_save_tuning(ctx, other));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), path);
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), strerror(EISDIR));
    free(path);
    ts_temp_dir_remove(other);
    /* Keys that do not fit, name no family or another family than the
     * choice's. */
    char long_key[CLCNN_TUNE_KEY_MAX + 1];
    memset(long_key, 'k', sizeof long_key - 1);
    memcpy(long_key, "conv2d.fwd:", 11);
    long_key[sizeof long_key - 1] = '\0';
    clcnn__tuned_choice general = parsed("conv2d.fwd:1", "general");
    clcnn__tuned_choice clblast = parsed("gemm:1x1x1", "clblast");
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn__tuning_set(ctx, long_key, &general, 0.0, 0.0));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn__tuning_set(ctx, "", &general, 0.0, 0.0));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn__tuning_set(ctx, "other.op:1", &general, 0.0, 0.0));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn__tuning_set(ctx, "conv2d.fwd:1", &clblast, 0.0, 0.0));
    assert_int_equal(clcnn__tuning_count(ctx), 0);
    clcnn_context_destroy(ctx);
}

/* A full table refuses new keys before measuring and stays as it was. */
static void test_table_full(void **state) {
    fixture *f = *state;
    shape s = stride1_shape();
    clcnn_context *ctx = context_on(f->dir, CLCNN_CACHE_ON);
    for (int i = 0; i < CLCNN_TUNE_MAX_ENTRIES; i++) {
        char key[32];
        snprintf(key, sizeof key, "conv2d.fwd:other%d", i);
        set_entry(ctx, key, "general", 0.0, 0.0);
    }
    clcnn__tuned_choice general = parsed("conv2d.fwd:1", "general");
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_OUT_OF_RANGE,
                     clcnn__tuning_set(ctx, "conv2d.fwd:one-more", &general, 0.0, 0.0));
    /* Replacing an existing key still works. */
    set_entry(ctx, "conv2d.fwd:other3", "tiled", 0.0, 0.0);
    size_t count = 5;
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_OUT_OF_RANGE,
                     clcnn_conv2d_tune(ctx, &s.p, s.x, s.w, 1, NULL, &count));
    assert_int_equal(count, 0);
    assert_int_equal(clcnn__tuning_count(ctx), CLCNN_TUNE_MAX_ENTRIES);
    assert_entry(ctx, "conv2d.fwd:other3", "tiled");
    clcnn_context_destroy(ctx);
}

/* ------------------------------------------------------------------- gemm */

/* An odd product no tile divides (bucket 16x64x32 small, 64x128x64). */
static void gemm_shape(size_t *m, size_t *n, size_t *k) {
    *m = ts_small() ? 11 : 45, *n = ts_small() ? 37 : 70, *k = ts_small() ? 19 : 61;
}

static void gemm_choice_text(clcnn_context *ctx, size_t m, size_t n, size_t k, char *out) {
    clcnn__tuned_choice choice;
    clcnn__gemm_choice(ctx, m, n, k, &choice);
    clcnn__tuned_choice_format(&choice, out, CLCNN_TUNE_CHOICE_MAX);
}

static void gemm_choice_is(clcnn_context *ctx, size_t m, size_t n, size_t k, const char *expected) {
    char got[CLCNN_TUNE_CHOICE_MAX];
    gemm_choice_text(ctx, m, n, k, got);
    assert_string_equal(got, expected);
}

/* The GEMM candidates on ctx as text; returns how many. */
static size_t gemm_candidate_texts(clcnn_context *ctx, char (*texts)[CLCNN_TUNE_CHOICE_MAX]) {
    clcnn__tuned_choice candidates[CLCNN__GEMM_MAX_CANDIDATES];
    size_t count = clcnn__gemm_candidates(ctx, candidates);
    for (size_t i = 0; i < count; i++)
        clcnn__tuned_choice_format(&candidates[i], texts[i], CLCNN_TUNE_CHOICE_MAX);
    return count;
}

/* A candidate that is not the built-in choice of the shape on f->plain. */
static void gemm_other_candidate(const fixture *f, size_t m, size_t n, size_t k, char *out) {
    char texts[CLCNN__GEMM_MAX_CANDIDATES][CLCNN_TUNE_CHOICE_MAX], builtin[CLCNN_TUNE_CHOICE_MAX];
    size_t count = gemm_candidate_texts(f->plain, texts);
    gemm_choice_text(f->plain, m, n, k, builtin);
    for (size_t i = 0; i < count; i++)
        if (strcmp(texts[i], builtin) != 0) {
            snprintf(out, CLCNN_TUNE_CHOICE_MAX, "%s", texts[i]);
            return;
        }
    fail_msg("no gemm candidate besides %s", builtin);
}

/* c = op(a) . op(b) with AUTO on ctx against the reference. */
static void check_gemm(clcnn_context *ctx, int trans_a, int trans_b, size_t m, size_t n, size_t k,
                       const char *what) {
    const size_t a_dims[2] = {trans_a ? k : m, trans_a ? m : k};
    const size_t b_dims[2] = {trans_b ? n : k, trans_b ? k : n}, c_dims[2] = {m, n};
    float *a = ts_random_floats(m * k, 21, -1.0f, 1.0f),
          *b = ts_random_floats(k * n, 22, -1.0f, 1.0f);
    clcnn_tensor *at = ts_tensor_create(ctx, 2, a_dims, a),
                 *bt = ts_tensor_create(ctx, 2, b_dims, b);
    clcnn_tensor *ct = ts_tensor_filled(ctx, 2, c_dims, NAN);
    TS_ASSERT_OK(ctx, clcnn_gemm(ctx, trans_a, trans_b, 1.0f, at, bt, 0.0f, ct));
    double *ref = ts_malloc(m * n * sizeof *ref), *magnitude = ts_malloc(m * n * sizeof *ref);
    gemm_ref(trans_a, trans_b, m, n, k, 1.0, a, a_dims[1], b, b_dims[1], 0.0, NULL, n, ref,
             magnitude);
    float *got = ts_tensor_read_all(ct);
    for (size_t i = 0; i < m * n; i++) {
        double bound = (double)(k + 4) * FLT_EPSILON * magnitude[i] + 1e-30;
        if (!(fabs((double)got[i] - ref[i]) <= bound))
            fail_msg("%s (trans %d%d): C[%zu] = %.9g, expected %.9g", what, trans_a, trans_b, i,
                     (double)got[i], ref[i]);
    }
    free(got), free(ref), free(magnitude), free(a), free(b);
    clcnn_tensor_destroy(at), clcnn_tensor_destroy(bt), clcnn_tensor_destroy(ct);
}

/* Tuning a product stores a winner under its bucket's key, AUTO runs it for
 * every product of the bucket, and a new context reads it back. */
static void test_gemm_tune_save_reload(void **state) {
    fixture *f = *state;
    size_t m, n, k;
    gemm_shape(&m, &n, &k);
    clcnn_context *ctx = context_on(f->dir, CLCNN_CACHE_ON);
    clcnn_tune_result r;
    TS_ASSERT_OK(ctx, clcnn_gemm_tune(ctx, m, n, k, tune_repeats(), &r));
    char key[CLCNN_TUNE_KEY_MAX], builtin[CLCNN_TUNE_CHOICE_MAX];
    assert_true(clcnn__gemm_tuning_key(m, n, k, key, sizeof key));
    assert_string_equal(r.key, key);
    assert_string_equal(key, ts_small() ? "gemm:16x64x32" : "gemm:64x128x64");
    gemm_choice_text(f->plain, m, n, k, builtin);
    assert_string_equal(r.default_choice, builtin);
    char texts[CLCNN__GEMM_MAX_CANDIDATES][CLCNN_TUNE_CHOICE_MAX];
    size_t count = gemm_candidate_texts(ctx, texts), others = 0, winner_listed = 0;
    for (size_t i = 0; i < count; i++) {
        others += strcmp(texts[i], builtin) != 0;
        winner_listed |= strcmp(texts[i], r.choice) == 0;
    }
    assert_true(count >= 6 && winner_listed);
    assert_int_equal(r.candidates, others + 1);
    assert_true(r.default_ms > 0.0 && r.best_ms > 0.0 && r.best_ms <= r.default_ms);
    gemm_choice_is(ctx, m, n, k, r.choice);
    gemm_choice_is(ctx, m + 1, n - 1, k - 2, r.choice); /* same bucket */
    assert_entry(ctx, key, r.choice);
    char other[CLCNN_TUNE_CHOICE_MAX];
    gemm_other_candidate(f, m, n, k, other);
    set_entry(ctx, key, other, 1.0, 2.0);
    TS_ASSERT_OK(ctx, clcnn_context_save_tuning(ctx, NULL));
    clcnn_context_destroy(ctx);

    clcnn_context *again = context_on(f->dir, CLCNN_CACHE_ON);
    gemm_choice_is(again, m, n, k, other);
    gemm_choice_text(f->plain, 2 * m, n, k, builtin);
    gemm_choice_is(again, 2 * m, n, k, builtin); /* another bucket */
    check_gemm(again, 0, 0, m, n, k, other);
    TS_ASSERT_OK(again, clcnn_gemm_tune(again, m, n, k, 1, NULL)); /* result optional */
    clcnn_context_destroy(again);
}

/* Every candidate, stored, is what AUTO runs and computes the product. */
static void test_gemm_every_candidate_correct(void **state) {
    fixture *f = *state;
    size_t m, n, k;
    gemm_shape(&m, &n, &k);
    clcnn_context *ctx = context_on(f->dir, CLCNN_CACHE_OFF);
    char key[CLCNN_TUNE_KEY_MAX], texts[CLCNN__GEMM_MAX_CANDIDATES][CLCNN_TUNE_CHOICE_MAX];
    assert_true(clcnn__gemm_tuning_key(m, n, k, key, sizeof key));
    size_t count = gemm_candidate_texts(ctx, texts);
    for (size_t i = 0; i < count; i++) {
        set_entry(ctx, key, texts[i], 0.0, 0.0);
        gemm_choice_is(ctx, m, n, k, texts[i]);
        check_gemm(ctx, 0, 0, m, n, k, texts[i]);
        check_gemm(ctx, 0, 1, m, n, k, texts[i]); /* dense forward */
        check_gemm(ctx, 1, 0, m, n, k, texts[i]); /* dense weight gradient */
    }
    clcnn_context_destroy(ctx);
}

/* Entries naming no candidate of the device fall back to the built-in
 * choice, which still computes the product. */
static void test_gemm_inapplicable_entries(void **state) {
    fixture *f = *state;
    size_t m, n, k;
    gemm_shape(&m, &n, &k);
    clcnn_context *ctx = context_on(f->dir, CLCNN_CACHE_OFF);
    char key[CLCNN_TUNE_KEY_MAX], builtin[CLCNN_TUNE_CHOICE_MAX];
    assert_true(clcnn__gemm_tuning_key(m, n, k, key, sizeof key));
    gemm_choice_text(f->plain, m, n, k, builtin);
    const char *nonsense[] = {"tiled nr=24 wg=auto",
                              "tiled nr=32 wg=2x2",
                              "tiled nr=16",
                              "tiled nr=16 wg=auto extra",
                              "direct",
                              "clblast"};
    for (size_t i = 0; i < sizeof nonsense / sizeof nonsense[0]; i++) {
        if (strcmp(nonsense[i], "clblast") == 0 &&
            clcnn__gemm_backend_for(ctx) == CLCNN__GEMM_CLBLAST)
            continue; /* a candidate where CLBlast is the built-in backend */
        load_entry(ctx, key, nonsense[i]);
        gemm_choice_is(ctx, m, n, k, builtin);
    }
    check_gemm(ctx, 0, 0, m, n, k, "fallback");
    clcnn_context_destroy(ctx);
}

/* -------------------------------------------------------------- pointwise */

/* Not a multiple of any chunk: the last work-item takes the scalar path. */
static size_t pointwise_elements(void) {
    return ts_small() ? 16 * 16 * 3 + 5 : 16 * 16 * 64 + 5;
}

static void pointwise_choice_text(clcnn_context *ctx, int family, char *out) {
    clcnn__tuned_choice choice;
    clcnn__pointwise_choice(ctx, (clcnn__pointwise_family)family, &choice);
    clcnn__tuned_choice_format(&choice, out, CLCNN_TUNE_CHOICE_MAX);
}

static void pointwise_choice_is(clcnn_context *ctx, int family, const char *expected) {
    char got[CLCNN_TUNE_CHOICE_MAX];
    pointwise_choice_text(ctx, family, got);
    assert_string_equal(got, expected);
}

/* The pointwise candidates as text; returns how many. */
static size_t pointwise_candidate_texts(char (*texts)[CLCNN_TUNE_CHOICE_MAX]) {
    clcnn__tuned_choice candidates[CLCNN__POINTWISE_MAX_CANDIDATES];
    size_t count = clcnn__pointwise_candidates(candidates);
    for (size_t i = 0; i < count; i++)
        clcnn__tuned_choice_format(&candidates[i], texts[i], CLCNN_TUNE_CHOICE_MAX);
    return count;
}

static void assert_floats_exact(const float *got, const double *ref, size_t count,
                                const char *what) {
    for (size_t i = 0; i < count; i++)
        if (got[i] != (float)ref[i])
            fail_msg("%s: element %zu is %.9g, expected %.9g", what, i, (double)got[i], ref[i]);
}

/* ReLU forward and backward and add on ctx against the reference. */
static void check_pointwise(clcnn_context *ctx, const char *what) {
    size_t count = pointwise_elements();
    float *x = ts_random_floats(count, 31, -1.0f, 1.0f),
          *y = ts_random_floats(count, 32, -1.0f, 1.0f);
    clcnn_tensor *xt = ts_vector_create(ctx, count, x), *yt = ts_vector_create(ctx, count, y);
    clcnn_tensor *out = ts_tensor_filled(ctx, 1, &count, NAN);
    double *ref = ts_malloc(count * sizeof *ref);
    clcnn_activation_params relu = clcnn_activation_params_default();
    for (int op = 0; op < 3; op++) {
        if (op == 0)
            TS_ASSERT_OK(ctx, clcnn_activation_forward(ctx, &relu, xt, out));
        else if (op == 1)
            TS_ASSERT_OK(ctx,
                         clcnn_activation_backward(ctx, &relu, xt, yt, out, CLCNN_GRAD_OVERWRITE));
        else
            TS_ASSERT_OK(ctx, clcnn_add(ctx, xt, yt, out));
        for (size_t i = 0; i < count; i++)
            ref[i] = op == 0   ? (x[i] > 0.0f ? x[i] : 0.0)
                     : op == 1 ? (x[i] > 0.0f ? y[i] : 0.0)
                               : (double)x[i] + (double)y[i];
        float *got = ts_tensor_read_all(out);
        assert_floats_exact(got, ref, count, what);
        free(got);
    }
    free(ref), free(x), free(y);
    clcnn_tensor_destroy(xt), clcnn_tensor_destroy(yt), clcnn_tensor_destroy(out);
}

/* Tuning stores a layout per family that the kernels then use, and a new
 * context reads them back. */
static void test_pointwise_tune_save_reload(void **state) {
    fixture *f = *state;
    static const char *const keys[2] = {"pointwise:activation", "pointwise:elementwise"};
    clcnn_context *ctx = context_on(f->dir, CLCNN_CACHE_ON);
    clcnn_tune_result results[CLCNN_POINTWISE_TUNE_FAMILIES];
    size_t count = 99;
    TS_ASSERT_OK(ctx,
                 clcnn_pointwise_tune(ctx, pointwise_elements(), tune_repeats(), results, &count));
    assert_int_equal(count, CLCNN_POINTWISE_TUNE_FAMILIES);
    char texts[CLCNN__POINTWISE_MAX_CANDIDATES][CLCNN_TUNE_CHOICE_MAX];
    size_t candidates = pointwise_candidate_texts(texts);
    for (int family = 0; family < CLCNN_POINTWISE_TUNE_FAMILIES; family++) {
        const clcnn_tune_result *r = &results[family];
        char builtin[CLCNN_TUNE_CHOICE_MAX];
        pointwise_choice_text(f->plain, family, builtin);
        assert_string_equal(r->key, keys[family]);
        assert_string_equal(r->default_choice, builtin);
        assert_int_equal(r->candidates, candidates); /* the built-in layout is one of them */
        assert_true(r->default_ms > 0.0 && r->best_ms > 0.0 && r->best_ms <= r->default_ms);
        pointwise_choice_is(ctx, family, r->choice);
        assert_entry(ctx, keys[family], r->choice);
    }
    /* A layout that is never the built-in one, to see the reload. */
    set_entry(ctx, keys[0], "vec=8 items=4 wg=64", 1.0, 2.0);
    TS_ASSERT_OK(ctx, clcnn_context_save_tuning(ctx, NULL));
    clcnn_context_destroy(ctx);
    clcnn_context *again = context_on(f->dir, CLCNN_CACHE_ON);
    pointwise_choice_is(again, 0, "vec=8 items=4 wg=64");
    pointwise_choice_is(again, 1, results[1].choice);
    check_pointwise(again, "reloaded");
    TS_ASSERT_OK(again, clcnn_pointwise_tune(again, 100, 1, NULL, NULL));
    clcnn_context_destroy(again);
}

/* Every candidate layout computes the ops exactly. */
static void test_pointwise_every_candidate_correct(void **state) {
    fixture *f = *state;
    clcnn_context *ctx = context_on(f->dir, CLCNN_CACHE_OFF);
    char texts[CLCNN__POINTWISE_MAX_CANDIDATES][CLCNN_TUNE_CHOICE_MAX];
    size_t count = pointwise_candidate_texts(texts);
    assert_true(count >= 4);
    for (size_t i = 0; i < count; i++) {
        for (int family = 0; family < CLCNN_POINTWISE_TUNE_FAMILIES; family++) {
            const char *key = clcnn__pointwise_key((clcnn__pointwise_family)family);
            set_entry(ctx, key, texts[i], 0.0, 0.0);
            pointwise_choice_is(ctx, family, texts[i]);
        }
        check_pointwise(ctx, texts[i]);
    }
    /* Layouts that are no candidate: the built-in table's. */
    const char *nonsense[] = {"vec=3 items=1 wg=64", "vec=16 items=8 wg=128", "vec=16 items=8",
                              "vec=16 items=8 wg=64 extra"};
    for (size_t i = 0; i < sizeof nonsense / sizeof nonsense[0]; i++) {
        for (int family = 0; family < CLCNN_POINTWISE_TUNE_FAMILIES; family++) {
            char builtin[CLCNN_TUNE_CHOICE_MAX];
            pointwise_choice_text(f->plain, family, builtin);
            load_entry(ctx, clcnn__pointwise_key((clcnn__pointwise_family)family), nonsense[i]);
            pointwise_choice_is(ctx, family, builtin);
        }
    }
    check_pointwise(ctx, "fallback");
    clcnn_context_destroy(ctx);
}

/* Bad arguments of the GEMM and pointwise tuners, and a full table. */
static void test_gemm_pointwise_bad_arguments(void **state) {
    fixture *f = *state;
    clcnn_context *ctx = context_on(f->dir, CLCNN_CACHE_OFF);
    clcnn_tune_result r[CLCNN_POINTWISE_TUNE_FAMILIES];
    size_t count = 7;
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_gemm_tune(NULL, 4, 4, 4, 1, r));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_gemm_tune(ctx, 4, 4, 4, 0, r));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "gemm_tune");
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE, clcnn_gemm_tune(ctx, 0, 4, 4, 1, r));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE, clcnn_gemm_tune(ctx, 4, 4, 0, 1, r));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_SIZE_OVERFLOW,
                     clcnn_gemm_tune(ctx, 4, (size_t)UINT32_MAX + 1, 4, 1, r));
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_pointwise_tune(NULL, 100, 1, r, &count));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_pointwise_tune(ctx, 100, 0, r, &count));
    assert_int_equal(count, 0);
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "pointwise_tune");
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE, clcnn_pointwise_tune(ctx, 0, 1, r, &count));
    assert_int_equal(clcnn__tuning_count(ctx), 0); /* nothing stored */
    /* A table one short of full: gemm fits, the two pointwise keys do not. */
    for (int i = 0; i < CLCNN_TUNE_MAX_ENTRIES - 1; i++) {
        char key[32];
        snprintf(key, sizeof key, "conv2d.fwd:other%d", i);
        set_entry(ctx, key, "general", 0.0, 0.0);
    }
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_OUT_OF_RANGE, clcnn_pointwise_tune(ctx, 100, 1, r, &count));
    assert_int_equal(clcnn__tuning_count(ctx), CLCNN_TUNE_MAX_ENTRIES - 1);
    TS_ASSERT_OK(ctx, clcnn_gemm_tune(ctx, 4, 4, 4, 1, r));
    assert_int_equal(clcnn__tuning_count(ctx), CLCNN_TUNE_MAX_ENTRIES);
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_OUT_OF_RANGE, clcnn_gemm_tune(ctx, 40, 4, 4, 1, r));
    TS_ASSERT_OK(ctx, clcnn_gemm_tune(ctx, 3, 3, 3, 1, r)); /* its bucket's entry is replaced */
    clcnn_context_destroy(ctx);
}

/* ------------------------------------------------------------ choice text */

/* Every choice an op can store reads back from its text as itself; the
 * parser takes the exact form only, each family its own, and keys name
 * their family by prefix. */
static void test_choice_text(void **state) {
    fixture *f = *state;
    const struct {
        const char *key, *text;
    } good[] = {
        {"conv2d.fwd:1", "general"},
        {"conv2d.fwd:1", "tiled"},
        {"conv2d.bwd_weights:1", "direct"},
        {"conv2d.bwd_data:1", "direct kt=8 vw=16 wv=2"},
        {"gemm:1x1x1", "clblast"},
        {"gemm:1x1x1", "tiled nr=16 wg=auto"},
        {"gemm:1x1x1", "tiled nr=32 wg=4x8"},
        {"pointwise:activation", "vec=16 items=8 wg=64"},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        clcnn__tuned_choice choice = parsed(good[i].key, good[i].text), again;
        char text[CLCNN_TUNE_CHOICE_MAX];
        clcnn__tuned_choice_format(&choice, text, sizeof text);
        assert_string_equal(text, good[i].text);
        assert_true(clcnn__tuned_choice_parse(choice.family, text, &again));
        assert_true(clcnn__tuned_choice_equal(&choice, &again));
    }
    /* The candidates of GEMM and the element-wise layouts. */
    clcnn__tuned_choice candidates[CLCNN__GEMM_MAX_CANDIDATES + CLCNN__POINTWISE_MAX_CANDIDATES];
    size_t count = clcnn__gemm_candidates(f->plain, candidates);
    count += clcnn__pointwise_candidates(candidates + count);
    for (size_t i = 0; i < count; i++) {
        char text[CLCNN_TUNE_CHOICE_MAX];
        clcnn__tuned_choice again;
        clcnn__tuned_choice_format(&candidates[i], text, sizeof text);
        assert_true(clcnn__tuned_choice_parse(candidates[i].family, text, &again));
        assert_true(clcnn__tuned_choice_equal(&candidates[i], &again));
        for (size_t j = 0; j < count; j++)
            assert_int_equal(clcnn__tuned_choice_equal(&candidates[i], &candidates[j]), i == j);
    }
    const struct {
        clcnn__tuned_family family;
        const char *text;
    } bad[] = {
        {CLCNN__TUNED_CONV2D, "direct kt=8 vw=16"},
        {CLCNN__TUNED_CONV2D, "direct kt=08 vw=16 wv=2"},
        {CLCNN__TUNED_CONV2D, "direct  kt=8 vw=16 wv=2"},
        {CLCNN__TUNED_CONV2D, "general "},
        {CLCNN__TUNED_CONV2D, "clblast"},
        {CLCNN__TUNED_GEMM, "general"},
        {CLCNN__TUNED_GEMM, "tiled nr=16 wg=auto "},
        {CLCNN__TUNED_GEMM, "tiled nr=16 wg=0x4"},
        {CLCNN__TUNED_GEMM, "tiled nr= 16 wg=auto"},
        {CLCNN__TUNED_POINTWISE, "vec=16 items=8 wg=+64"},
        {CLCNN__TUNED_POINTWISE, "tiled"},
        {CLCNN__TUNED_POINTWISE, ""},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        clcnn__tuned_choice choice;
        if (clcnn__tuned_choice_parse(bad[i].family, bad[i].text, &choice))
            fail_msg("\"%s\" parsed as a choice of family %d", bad[i].text, (int)bad[i].family);
    }
    const struct {
        const char *key;
        int family; /* 0: none */
    } keys[] = {
        {"conv2d.fwd:1x2x3x4,k5x3x3,s1x1,p1x1,d1x1,g1", CLCNN__TUNED_CONV2D},
        {"gemm:64x128x64", CLCNN__TUNED_GEMM},
        {"pointwise:elementwise", CLCNN__TUNED_POINTWISE},
        {"gemm.future:1x2x3", 0},
        {"conv2d:1", 0},
        {"pointwise", 0},
        {"", 0},
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        clcnn__tuned_family family = (clcnn__tuned_family)0;
        int found = clcnn__tuned_family_of(keys[i].key, &family);
        assert_int_equal(found, keys[i].family != 0);
        assert_int_equal(found ? (int)family : 0, keys[i].family);
    }
    /* CLBlast is one choice whatever tiles the device row carries. */
    clcnn__tuned_choice a = parsed("gemm:1x1x1", "clblast"), b = a;
    b.as.gemm.tile_cols = 32;
    assert_true(clcnn__tuned_choice_equal(&a, &b));
    clcnn__tuned_choice general = parsed("conv2d.fwd:1", "general");
    assert_false(clcnn__tuned_choice_equal(&a, &general));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_tune_save_reload, before_each),
        cmocka_unit_test_setup(test_every_choice_correct, before_each),
        cmocka_unit_test_setup(test_bad_files_ignored, before_each),
        cmocka_unit_test_setup(test_untrusted_files_refused, before_each),
        cmocka_unit_test_setup(test_inapplicable_entries, before_each),
        cmocka_unit_test_setup(test_environment_switch, before_each),
        cmocka_unit_test_setup(test_cache_off_and_directories, before_each),
        cmocka_unit_test_setup(test_clear, before_each),
        cmocka_unit_test_setup(test_bad_arguments, before_each),
        cmocka_unit_test_setup(test_table_full, before_each),
        cmocka_unit_test_setup(test_gemm_tune_save_reload, before_each),
        cmocka_unit_test_setup(test_gemm_every_candidate_correct, before_each),
        cmocka_unit_test_setup(test_gemm_inapplicable_entries, before_each),
        cmocka_unit_test_setup(test_pointwise_tune_save_reload, before_each),
        cmocka_unit_test_setup(test_pointwise_every_candidate_correct, before_each),
        cmocka_unit_test_setup(test_gemm_pointwise_bad_arguments, before_each),
        cmocka_unit_test_setup(test_choice_text, before_each),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
