/* What the host tools share (hosttools/tool_cli.c, hosttools/tool_json.c):
 * GNU-style option parsing and JSON with shortest round-trip numbers. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/test_support.h"
#include "tool_cli.h"
#include "tool_json.h"

/* ---------------------------------------------------------------- options */

enum { OPT_COUNT, OPT_FLAG, OPT_OUTPUT };

static const tool_option options[] = {
    {"--count", NULL, 1, OPT_COUNT},
    {"--flag", NULL, 0, OPT_FLAG},
    {"--output", "-o", 1, OPT_OUTPUT},
};
#define OPTION_COUNT (sizeof options / sizeof options[0])

/* Parses args (NULL-terminated, program name first) as main would get them
 * and writes what it read as "id=value " items into out; returns the last
 * code. */
static int parse(const char *const *args, char *out, size_t size) {
    static char text[16][64];
    char *argv[16];
    int argc = 0;
    for (; args[argc] != NULL && argc < 16; argc++) {
        snprintf(text[argc], sizeof text[argc], "%s", args[argc]);
        argv[argc] = text[argc];
    }
    tool_cli cli;
    tool_cli_init(&cli, "test-tool", argc, argv);
    out[0] = '\0';
    for (;;) {
        const char *value = NULL;
        int id = tool_cli_next(&cli, options, OPTION_COUNT, &value);
        if (id == TOOL_CLI_END || id == TOOL_CLI_ERROR)
            return id;
        size_t used = strlen(out);
        snprintf(out + used, size - used, "%d=%s ", id, value != NULL ? value : "-");
    }
}

static void test_long_options_both_forms(void **state) {
    (void)state;
    const char *const argv[] = {"t", "--count",      "3", "--count=4", "--flag", "-o",
                                "x", "--output=y=z", NULL};
    char seen[256];
    assert_int_equal(parse(argv, seen, sizeof seen), TOOL_CLI_END);
    assert_string_equal(seen, "0=3 0=4 1=- 2=x 2=y=z ");
}

static void test_values_may_start_with_a_dash(void **state) {
    (void)state;
    const char *const argv[] = {"t", "--count", "-5", "--output", "--flag", NULL};
    char seen[256];
    assert_int_equal(parse(argv, seen, sizeof seen), TOOL_CLI_END);
    assert_string_equal(seen, "0=-5 2=--flag ");
}

static void test_operands_and_double_dash(void **state) {
    (void)state;
    const char *const argv[] = {"t", "a.json", "-", "--", "--flag", "-o", NULL};
    char seen[256];
    assert_int_equal(parse(argv, seen, sizeof seen), TOOL_CLI_END);
    assert_string_equal(seen, "-2=a.json -2=- -2=--flag -2=-o ");
}

static void test_usage_errors(void **state) {
    (void)state;
    char seen[256];
    const char *const unknown[] = {"t", "--bogus", NULL};
    const char *const unknown_with_value[] = {"t", "--count=1", "--bogus=1", NULL};
    const char *const prefix_is_not_enough[] = {"t", "--coun", "1", NULL};
    const char *const missing_value[] = {"t", "--count", NULL};
    const char *const flag_with_value[] = {"t", "--flag=1", NULL};
    const char *const alias_with_equals[] = {"t", "-o=x", NULL};
    assert_int_equal(parse(unknown, seen, sizeof seen), TOOL_CLI_ERROR);
    assert_int_equal(parse(unknown_with_value, seen, sizeof seen), TOOL_CLI_ERROR);
    assert_string_equal(seen, "0=1 ");
    assert_int_equal(parse(prefix_is_not_enough, seen, sizeof seen), TOOL_CLI_ERROR);
    assert_int_equal(parse(missing_value, seen, sizeof seen), TOOL_CLI_ERROR);
    assert_int_equal(parse(flag_with_value, seen, sizeof seen), TOOL_CLI_ERROR);
    assert_int_equal(parse(alias_with_equals, seen, sizeof seen), TOOL_CLI_ERROR);
}

static void test_value_parsers(void **state) {
    (void)state;
    size_t count = 99;
    assert_true(tool_parse_count("12", 1, 100, &count));
    assert_int_equal(count, 12);
    assert_false(tool_parse_count("0", 1, 100, &count));
    assert_false(tool_parse_count("101", 1, 100, &count));
    assert_false(tool_parse_count("-1", 0, 100, &count));
    assert_false(tool_parse_count(" 5", 0, 100, &count));
    assert_false(tool_parse_count("5x", 0, 100, &count));
    assert_false(tool_parse_count("", 0, 100, &count));
    assert_int_equal(count, 12);
    double real = 0.0;
    assert_true(tool_parse_real("5e-4", 0.0, &real));
    assert_true(real == 5e-4);
    assert_false(tool_parse_real("-0.1", 0.0, &real));
    assert_false(tool_parse_real("nan", 0.0, &real));
    assert_false(tool_parse_real("inf", 0.0, &real));
    assert_false(tool_parse_real("1e999", 0.0, &real));
    assert_false(tool_parse_real("0.1x", 0.0, &real));
    static const char *const choices[] = {"sgd", "adam"};
    size_t index = 7;
    assert_true(tool_parse_choice("t", "--optimizer", "adam", choices, 2, &index));
    assert_int_equal(index, 1);
    assert_false(tool_parse_choice("t", "--optimizer", "Adam", choices, 2, &index));
    assert_int_equal(index, 1);
}

/* ------------------------------------------------------------------- JSON */

static char *dump_one(double value) {
    json_t *array = json_pack("[f]", value);
    assert_non_null(array);
    char *text = tool_json_dumps(array, JSON_COMPACT);
    json_decref(array);
    assert_non_null(text);
    return text;
}

static void check_dump(double value, const char *expected) {
    char *text = dump_one(value);
    assert_string_equal(text, expected);
    free(text);
}

static void test_json_shortest_forms(void **state) {
    (void)state;
    check_dump(0.05, "[0.05]");
    check_dump(5e-4, "[0.0005]");
    check_dump(0.1 + 0.2, "[0.30000000000000004]");
    check_dump(1.0, "[1.0]");
    check_dump(100.0, "[100.0]");
    check_dump(-2.5, "[-2.5]");
    check_dump(1e-5, "[1e-05]");
    check_dump(1e16, "[1e+16]");
    check_dump(123456789012.5, "[123456789012.5]");
    check_dump(DBL_MAX, "[1.7976931348623157e+308]");
    check_dump(5e-324, "[5e-324]");
}

/* Every real reads back as the same double, strings and integers are left
 * alone. */
static void test_json_round_trip(void **state) {
    (void)state;
    json_t *array = json_array();
    uint64_t bits = 0x9E3779B97F4A7C15u;
    double values[2000];
    for (size_t i = 0; i < 2000; i++) {
        bits ^= bits << 13, bits ^= bits >> 7, bits ^= bits << 17;
        double value;
        memcpy(&value, &bits, sizeof value);
        if (!isfinite(value) || i % 2 == 0) /* half of them of everyday sizes */
            value = (double)(bits >> 11) / 9007199254740992.0 * pow(10.0, (double)(i % 13) - 6);
        values[i] = value;
        json_array_append_new(array, json_real(value));
    }
    json_array_append_new(array, json_string("1.50 \"2.0\\\" -3.25e+01"));
    json_array_append_new(array, json_integer(-12345678901234));
    char *text = tool_json_dumps(array, JSON_COMPACT);
    assert_non_null(text);
    json_error_t error;
    json_t *back = json_loads(text, 0, &error);
    assert_non_null(back);
    for (size_t i = 0; i < 2000; i++) {
        json_t *item = json_array_get(back, i);
        assert_true(json_is_real(item));
        assert_true(json_real_value(item) == values[i]);
    }
    assert_string_equal(json_string_value(json_array_get(back, 2000)), "1.50 \"2.0\\\" -3.25e+01");
    assert_true(json_integer_value(json_array_get(back, 2001)) == -12345678901234);
    free(text);
    json_decref(array);
    json_decref(back);
}

static void test_json_real_of_non_finite_is_null(void **state) {
    (void)state;
    json_t *value = tool_json_real(NAN);
    assert_true(json_is_null(value));
    json_decref(value);
    value = tool_json_real(-INFINITY);
    assert_true(json_is_null(value));
    json_decref(value);
    value = tool_json_real(0.25);
    assert_true(json_is_real(value) && json_real_value(value) == 0.25);
    json_decref(value);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_long_options_both_forms),
        cmocka_unit_test(test_values_may_start_with_a_dash),
        cmocka_unit_test(test_operands_and_double_dash),
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_value_parsers),
        cmocka_unit_test(test_json_shortest_forms),
        cmocka_unit_test(test_json_round_trip),
        cmocka_unit_test(test_json_real_of_non_finite_is_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
