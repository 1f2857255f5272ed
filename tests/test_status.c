/* Status codes: the X-macro table, names, descriptions and the version. */
#include <stdio.h>
#include <string.h>

#include "support/test_support.h"

typedef struct status_entry {
    clcnn_status status;
    int value;
    const char *symbol; /* "CLCNN_OK" etc., from the table itself */
} status_entry;

static const status_entry entries[] = {
#define STATUS_ENTRY(symbol, value, description) {CLCNN_##symbol, value, "CLCNN_" #symbol},
    CLCNN_STATUS_MAP(STATUS_ENTRY)
#undef STATUS_ENTRY
};
static const size_t entry_count = sizeof entries / sizeof entries[0];

static void test_table_values(void **state) {
    (void)state;
    assert_int_equal(CLCNN_OK, 0);
    for (size_t i = 0; i < entry_count; i++) {
        assert_int_equal((int)entries[i].status, entries[i].value);
        if (i > 0) /* OK first, then errors, all negative */
            assert_true(entries[i].value < 0);
        for (size_t j = 0; j < i; j++)
            assert_int_not_equal(entries[i].value, entries[j].value);
    }
}

static void test_names_match_table(void **state) {
    (void)state;
    for (size_t i = 0; i < entry_count; i++) {
        const char *name = clcnn_status_name(entries[i].status);
        assert_non_null(name);
        assert_string_equal(name, entries[i].symbol);
    }
}

static void test_names_and_strings_distinct(void **state) {
    (void)state;
    for (size_t i = 0; i < entry_count; i++) {
        const char *name = clcnn_status_name(entries[i].status);
        const char *text = clcnn_status_string(entries[i].status);
        assert_non_null(text);
        assert_true(strlen(text) > 0);
        for (size_t j = 0; j < i; j++) {
            assert_string_not_equal(name, clcnn_status_name(entries[j].status));
            assert_string_not_equal(text, clcnn_status_string(entries[j].status));
        }
    }
}

static void test_strings_match_table(void **state) {
    (void)state;
#define CHECK_DESCRIPTION(symbol, value, description) \
    assert_string_equal(clcnn_status_string(CLCNN_##symbol), description);
    CLCNN_STATUS_MAP(CHECK_DESCRIPTION)
#undef CHECK_DESCRIPTION
}

static void test_specific_name(void **state) {
    (void)state;
    assert_string_equal(clcnn_status_name(CLCNN_ERROR_OUT_OF_RANGE), "CLCNN_ERROR_OUT_OF_RANGE");
    assert_string_equal(clcnn_status_name(CLCNN_OK), "CLCNN_OK");
    assert_string_equal(clcnn_status_string(CLCNN_OK), "success");
}

static void test_unknown_status(void **state) {
    (void)state;
    /* One past the newest code: the table's values are appended downwards. */
    const int unknown_values[] = {1, -1000, 12345, entries[entry_count - 1].value - 1};
    for (size_t i = 0; i < sizeof unknown_values / sizeof unknown_values[0]; i++) {
        clcnn_status unknown = (clcnn_status)unknown_values[i];
        const char *name = clcnn_status_name(unknown);
        const char *text = clcnn_status_string(unknown);
        assert_non_null(name);
        assert_non_null(text);
        assert_string_equal(name, "CLCNN_UNKNOWN_STATUS");
        for (size_t j = 0; j < entry_count; j++)
            assert_string_not_equal(name, entries[j].symbol);
    }
}

static void test_version(void **state) {
    (void)state;
    assert_non_null(clcnn_version());
    assert_string_equal(clcnn_version(), CLCNN_VERSION_STRING);
    char expected[32];
    snprintf(expected, sizeof expected, "%d.%d.%d", CLCNN_VERSION_MAJOR, CLCNN_VERSION_MINOR,
             CLCNN_VERSION_PATCH);
    assert_string_equal(CLCNN_VERSION_STRING, expected);
    /* The header and CMake's project() version must not drift apart. */
    assert_string_equal(CLCNN_VERSION_STRING, CLCNN_TEST_PROJECT_VERSION);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_values),
        cmocka_unit_test(test_names_match_table),
        cmocka_unit_test(test_names_and_strings_distinct),
        cmocka_unit_test(test_strings_match_table),
        cmocka_unit_test(test_specific_name),
        cmocka_unit_test(test_unknown_status),
        cmocka_unit_test(test_version),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
