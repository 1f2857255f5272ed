/* Public queries that need no device, made for the tools and for any
 * program that shares the library's cache or tunes many shapes:
 * clcnn_default_cache_dir (the environment's choice, in order, with every
 * error) and clcnn_gemm_tune_key (the key the GEMM tuner stores, the same
 * text as the library's own; test_tuning checks that the tuner stores
 * that). */
#include <string.h>

#include "clcnn.h"
#include "ops/gemm.h"
#include "support/test_support.h"

/* The three variables, saved and set (NULL: unset) for one test. */
typedef struct environment {
    ts_saved_env cache_dir, xdg, home;
} environment;

static void environment_set(environment *e, const char *cache_dir, const char *xdg,
                            const char *home) {
    ts_env_set(&e->cache_dir, "CLCNN_CACHE_DIR", cache_dir);
    ts_env_set(&e->xdg, "XDG_CACHE_HOME", xdg);
    ts_env_set(&e->home, "HOME", home);
}

static void environment_restore(environment *e) {
    ts_env_restore(&e->home);
    ts_env_restore(&e->xdg);
    ts_env_restore(&e->cache_dir);
}

/* The directory the environment names, as the contexts' own cache takes
 * it. */
static void assert_default_dir(const char *cache_dir, const char *xdg, const char *home,
                               const char *expected) {
    environment e;
    environment_set(&e, cache_dir, xdg, home);
    char dir[256];
    TS_ASSERT_OK(NULL, clcnn_default_cache_dir(dir, sizeof dir));
    char *contexts = clcnn__default_cache_dir();
    environment_restore(&e);
    assert_string_equal(dir, expected);
    assert_non_null(contexts);
    assert_string_equal(dir, contexts);
    free(contexts);
}

/* $CLCNN_CACHE_DIR, else $XDG_CACHE_HOME/clcnn, else $HOME/.cache/clcnn;
 * an empty variable counts as unset. */
static void test_default_cache_dir_order(void **state) {
    (void)state;
    assert_default_dir("/c", "/x", "/h", "/c");
    assert_default_dir(NULL, "/x", "/h", "/x/clcnn");
    assert_default_dir("", "/x", "/h", "/x/clcnn");
    assert_default_dir(NULL, NULL, "/h", "/h/.cache/clcnn");
    assert_default_dir("", "", "/h", "/h/.cache/clcnn");
}

/* No variable: NOT_FOUND; no room for the path and its NUL: OUT_OF_RANGE;
 * no buffer: INVALID_ARGUMENT; out is "" on failure. */
static void test_default_cache_dir_errors(void **state) {
    (void)state;
    environment e;
    char dir[8] = "unset";
    environment_set(&e, NULL, "", NULL);
    clcnn_status none = clcnn_default_cache_dir(dir, sizeof dir);
    environment_restore(&e);
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_NOT_FOUND, none);
    assert_string_equal(dir, "");

    environment_set(&e, "/123456", NULL, NULL); /* 8 bytes with its NUL */
    clcnn_status fits = clcnn_default_cache_dir(dir, sizeof dir);
    clcnn_status too_long = clcnn_default_cache_dir(dir, sizeof dir - 1);
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_default_cache_dir(NULL, 8));
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_default_cache_dir(dir, 0));
    environment_restore(&e);
    TS_ASSERT_OK(NULL, fits);
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_OUT_OF_RANGE, too_long);
    assert_string_equal(dir, "");
}

/* Each size rounded up to a power of two, as the library's own key. */
static void test_gemm_tune_key(void **state) {
    (void)state;
    static const size_t shapes[][3] = {{1, 1, 1},       {1024, 1024, 1024}, {64, 128, 3136},
                                       {64, 128, 4096}, {100, 10, 129},     {SIZE_MAX, 3, 5}};
    static const char *const keys[] = {"gemm:1x1x1",       "gemm:1024x1024x1024",
                                       "gemm:64x128x4096", "gemm:64x128x4096",
                                       "gemm:128x16x256",  NULL};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        char key[CLCNN_TUNE_KEY_MAX], internal[CLCNN_TUNE_KEY_MAX];
        TS_ASSERT_OK(NULL, clcnn_gemm_tune_key(shapes[i][0], shapes[i][1], shapes[i][2], key));
        assert_true(clcnn__gemm_tuning_key(shapes[i][0], shapes[i][1], shapes[i][2], internal,
                                           sizeof internal));
        assert_string_equal(key, internal);
        if (keys[i] != NULL)
            assert_string_equal(key, keys[i]);
    }
    char key[CLCNN_TUNE_KEY_MAX] = "unset";
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_SHAPE, clcnn_gemm_tune_key(0, 4, 4, key));
    assert_string_equal(key, "");
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_SHAPE, clcnn_gemm_tune_key(4, 0, 4, key));
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_SHAPE, clcnn_gemm_tune_key(4, 4, 0, key));
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_gemm_tune_key(4, 4, 4, NULL));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_cache_dir_order),
        cmocka_unit_test(test_default_cache_dir_errors),
        cmocka_unit_test(test_gemm_tune_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
