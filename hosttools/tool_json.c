/* Shortest round-trip reals in the tools' JSON (see tool_json.h). jansson
 * writes reals with "%.17g" (or a fixed JSON_REAL_PRECISION): right but
 * noisy, or short but lossy. Its output is rewritten here token by token:
 * each number that is a real is replaced by the shortest form that reads
 * back as the same double. */
#include "tool_json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The shortest "%.*e" digits of value that strtod reads back exactly;
 * returns their count and the decimal exponent. */
static int shortest_digits(double value, int *exponent) {
    char text[40];
    int digits = 1;
    for (; digits < 17; digits++) {
        snprintf(text, sizeof text, "%.*e", digits - 1, value);
        if (strtod(text, NULL) == value)
            break;
    }
    snprintf(text, sizeof text, "%.*e", digits - 1, value);
    *exponent = atoi(strchr(text, 'e') + 1);
    return digits;
}

/* The shortest round-trip text of a finite double: fixed notation for
 * exponents -4..15 (as Python's repr), else d.ddde+XX; always with a '.'
 * or an exponent, so that it stays a JSON real. */
static void format_real(double value, char *out, size_t size) {
    int exponent = 0;
    int digits = shortest_digits(value, &exponent);
    if (exponent >= -4 && exponent < 16) {
        int decimals = digits - 1 - exponent;
        snprintf(out, size, "%.*f", decimals > 0 ? decimals : 0, value);
    } else {
        snprintf(out, size, "%.*e", digits - 1, value);
    }
    if (strpbrk(out, ".e") == NULL)
        strncat(out, ".0", size - strlen(out) - 1);
}

/* Characters of a JSON number token. */
static int in_number(char c) {
    return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

/* Copies text to out, rewriting the reals outside strings. */
static void rewrite_reals(const char *text, char *out) {
    int in_string = 0;
    while (*text != '\0') {
        char c = *text;
        if (in_string) {
            *out++ = *text++;
            if (c == '\\' && *text != '\0')
                *out++ = *text++;
            else if (c == '"')
                in_string = 0;
            continue;
        }
        if (c == '"')
            in_string = 1;
        if (c != '-' && (c < '0' || c > '9')) {
            *out++ = *text++;
            continue;
        }
        size_t length = 0;
        while (in_number(text[length]))
            length++;
        char token[64];
        int is_real = strcspn(text, ".eE") < length && length < sizeof token;
        if (is_real) {
            memcpy(token, text, length);
            token[length] = '\0';
            format_real(strtod(token, NULL), token, sizeof token);
            size_t written = strlen(token);
            memcpy(out, token, written);
            out += written;
        } else {
            memcpy(out, text, length);
            out += length;
        }
        text += length;
    }
    *out = '\0';
}

char *tool_json_dumps(const json_t *json, size_t flags) {
    char *text = json_dumps(json, flags | JSON_REAL_PRECISION(17));
    if (text == NULL)
        return NULL;
    /* A rewritten real is at most a few bytes longer than jansson's (for
     * exponent 16, where "%.17g" still writes all digits); twice the text
     * is ample. */
    size_t length = strlen(text);
    char *result = malloc(2 * length + 1);
    if (result != NULL)
        rewrite_reals(text, result);
    free(text);
    return result;
}

int tool_json_print(FILE *out, const json_t *json, size_t flags) {
    char *text = tool_json_dumps(json, flags);
    if (text == NULL)
        return -1;
    int failed = fputs(text, out) == EOF || fputc('\n', out) == EOF || fflush(out) != 0;
    free(text);
    return failed ? -1 : 0;
}

json_t *tool_json_real(double value) {
    return isfinite(value) ? json_real(value) : json_null();
}
