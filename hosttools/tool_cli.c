/* The host tools' command line (see tool_cli.h). */
#define _POSIX_C_SOURCE 200809L
#include "tool_cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef CLCNN_TOOLS_VERSION
#error "CLCNN_TOOLS_VERSION must be defined by the build (the project version)"
#endif

void tool_cli_init(tool_cli *cli, const char *program, int argc, char **argv) {
    cli->program = program;
    cli->argc = argc;
    cli->argv = argv;
    cli->next = 1;
    cli->operands_only = 0;
}

int tool_usage_error(const char *program, const char *format, ...) {
    va_list args;
    va_start(args, format);
    fflush(stdout);
    fprintf(stderr, "%s: ", program);
    vfprintf(stderr, format, args);
    fprintf(stderr, " (see %s --help)\n", program);
    va_end(args);
    return TOOL_EXIT_USAGE;
}

int tool_invalid_value(const char *program, const char *option, const char *text,
                       const char *expected) {
    return tool_usage_error(program, "invalid value \"%s\" for %s: %s", text, option, expected);
}

/* The option that `arg` names, given as "--name", "--name=..." or its alias;
 * *inline_value points after the '=' when there is one. */
static const tool_option *find_option(const char *arg, const tool_option *options, size_t count,
                                      const char **inline_value) {
    size_t length = strcspn(arg, "=");
    *inline_value = arg[length] == '=' ? arg + length + 1 : NULL;
    for (size_t i = 0; i < count; i++) {
        const tool_option *o = &options[i];
        if (strlen(o->name) == length && strncmp(arg, o->name, length) == 0)
            return o;
        if (o->alias != NULL && *inline_value == NULL && strcmp(arg, o->alias) == 0)
            return o;
    }
    return NULL;
}

int tool_cli_next(tool_cli *cli, const tool_option *options, size_t count, const char **value) {
    *value = NULL;
    if (cli->next >= cli->argc)
        return TOOL_CLI_END;
    const char *arg = cli->argv[cli->next++];
    int is_option = arg[0] == '-' && arg[1] != '\0' && !cli->operands_only;
    if (is_option && strcmp(arg, "--") == 0) {
        cli->operands_only = 1;
        return tool_cli_next(cli, options, count, value);
    }
    if (!is_option) {
        *value = arg;
        return TOOL_CLI_OPERAND;
    }
    const char *inline_value = NULL;
    const tool_option *option = find_option(arg, options, count, &inline_value);
    if (option == NULL) {
        tool_usage_error(cli->program, "unknown option %.*s", (int)strcspn(arg, "="), arg);
        return TOOL_CLI_ERROR;
    }
    if (!option->takes_value && inline_value != NULL) {
        tool_usage_error(cli->program, "%s takes no value", option->name);
        return TOOL_CLI_ERROR;
    }
    if (!option->takes_value)
        return option->id;
    if (inline_value == NULL && cli->next >= cli->argc) {
        tool_usage_error(cli->program, "%s needs a value", option->name);
        return TOOL_CLI_ERROR;
    }
    *value = inline_value != NULL ? inline_value : cli->argv[cli->next++];
    return option->id;
}

int tool_parse_count(const char *text, size_t min, size_t max, size_t *out) {
    char *end = NULL;
    errno = 0;
    if (text == NULL || text[0] < '0' || text[0] > '9')
        return 0;
    unsigned long long value = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0' || value < min || value > max)
        return 0;
    *out = (size_t)value;
    return 1;
}

int tool_parse_real(const char *text, double min, double *out) {
    char *end = NULL;
    errno = 0;
    double value = text != NULL ? strtod(text, &end) : NAN;
    if (text == NULL || end == text || *end != '\0' || errno != 0 || !isfinite(value) ||
        !(value >= min))
        return 0;
    *out = value;
    return 1;
}

int tool_parse_choice(const char *program, const char *option, const char *text,
                      const char *const *choices, size_t count, size_t *index) {
    for (size_t i = 0; i < count; i++)
        if (strcmp(text, choices[i]) == 0) {
            *index = i;
            return 1;
        }
    char expected[512] = "choose ";
    for (size_t i = 0; i < count; i++) {
        const char *separator = i == 0 ? "" : (i + 1 == count ? " or " : ", ");
        size_t used = strlen(expected);
        snprintf(expected + used, sizeof expected - used, "%s%s", separator, choices[i]);
    }
    tool_invalid_value(program, option, text, expected);
    return 0;
}

void tool_print_version(const char *program) {
    printf("%s (libclcnn) %s\n", program, CLCNN_TOOLS_VERSION);
}
