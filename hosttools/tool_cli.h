/* The command line of the host tools (clcnn-train, clcnn-bench, clcnn-chart),
 * parsed one way: GNU-style long options as "--name VALUE" or
 * "--name=VALUE", "--" ending the options, an unknown option reported as
 * unknown, a choice checked against its list, and --version. Plain C, no
 * library: clcnn-chart links only jansson. */
#ifndef CLCNN_TOOL_CLI_H
#define CLCNN_TOOL_CLI_H

#include <stddef.h>

/* The exit status of a usage error, as GNU tools do. */
#define TOOL_EXIT_USAGE 2

/* One option of a tool. */
typedef struct tool_option {
    const char *name;  /* "--epochs" */
    const char *alias; /* a short form such as "-o", or NULL */
    int takes_value;   /* 1: "--name VALUE" or "--name=VALUE"; 0: a flag */
    int id;            /* what tool_cli_next returns for it */
} tool_option;

/* The arguments still to read. */
typedef struct tool_cli {
    const char *program; /* "clcnn-train", for messages */
    int argc;
    char **argv;
    int next;          /* index of the next argument */
    int operands_only; /* after "--" */
} tool_cli;

/* What tool_cli_next returns besides an option's id (ids are >= 0). */
#define TOOL_CLI_END (-1)     /* no argument left */
#define TOOL_CLI_OPERAND (-2) /* *value is an argument that is not an option ("-" is one) */
#define TOOL_CLI_ERROR (-3)   /* a usage error, already printed */

void tool_cli_init(tool_cli *cli, const char *program, int argc, char **argv);

/* Reads the next argument: an option of options[0..count-1] (returns its id,
 * *value its value or NULL for a flag), an operand, the end, or an error
 * (an unknown option, a missing value, a value given to a flag). */
int tool_cli_next(tool_cli *cli, const tool_option *options, size_t count, const char **value);

/* Prints "PROGRAM: MESSAGE (see PROGRAM --help)" on stderr; returns
 * TOOL_EXIT_USAGE. */
int tool_usage_error(const char *program, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* "PROGRAM: invalid value "TEXT" for OPTION: EXPECTED" on stderr; returns
 * TOOL_EXIT_USAGE. */
int tool_invalid_value(const char *program, const char *option, const char *text,
                       const char *expected);

/* A whole decimal number in [min, max]; 1 on success. */
int tool_parse_count(const char *text, size_t min, size_t max, size_t *out);

/* A finite number (strtod syntax) that is at least `min`; 1 on success. */
int tool_parse_real(const char *text, double min, double *out);

/* The index of `text` in choices[0..count-1]; 0 (with a message listing the
 * valid choices, and TOOL_EXIT_USAGE for the caller to return) when it is
 * none of them. */
int tool_parse_choice(const char *program, const char *option, const char *text,
                      const char *const *choices, size_t count, size_t *index);

/* Prints "PROGRAM (libclcnn) VERSION" on stdout. */
void tool_print_version(const char *program);

#endif
