/* Status names and descriptions from the CLCNN_STATUS_MAP table, the
 * library version, and the context's last-error message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/internal.h"

const char *clcnn_status_name(clcnn_status status) {
    switch (status) {
#define CLCNN_STATUS_NAME_CASE(symbol, value, description) \
    case CLCNN_##symbol:                                   \
        return "CLCNN_" #symbol;
        CLCNN_STATUS_MAP(CLCNN_STATUS_NAME_CASE)
#undef CLCNN_STATUS_NAME_CASE
    }
    return "CLCNN_UNKNOWN_STATUS";
}

const char *clcnn_status_string(clcnn_status status) {
    switch (status) {
#define CLCNN_STATUS_STRING_CASE(symbol, value, description) \
    case CLCNN_##symbol:                                     \
        return description;
        CLCNN_STATUS_MAP(CLCNN_STATUS_STRING_CASE)
#undef CLCNN_STATUS_STRING_CASE
    }
    return "unknown status";
}

const char *clcnn_version(void) {
    return CLCNN_VERSION_TEXT;
}

static void store_error(clcnn_context *ctx, char *message) {
    if (ctx->last_error != ctx->last_error_fallback)
        free(ctx->last_error);
    ctx->last_error = message;
}

void clcnn__set_error_text(clcnn_context *ctx, const char *text) {
    if (ctx == NULL)
        return;
    char *copy = clcnn__strdup(text);
    if (copy == NULL) {
        snprintf(ctx->last_error_fallback, sizeof ctx->last_error_fallback, "%s", text);
        copy = ctx->last_error_fallback;
    }
    store_error(ctx, copy);
}

clcnn_status clcnn__vfail(clcnn_context *ctx, clcnn_status status, const char *format,
                          va_list args) {
    if (ctx == NULL)
        return status;
    va_list measure;
    va_copy(measure, args);
    int length = vsnprintf(NULL, 0, format, measure);
    va_end(measure);
    char *message = length < 0 ? NULL : malloc((size_t)length + 1);
    if (message == NULL) {
        vsnprintf(ctx->last_error_fallback, sizeof ctx->last_error_fallback, format, args);
        message = ctx->last_error_fallback;
    } else {
        vsnprintf(message, (size_t)length + 1, format, args);
    }
    store_error(ctx, message);
    return status;
}

clcnn_status clcnn__fail(clcnn_context *ctx, clcnn_status status, const char *format, ...) {
    va_list args;
    va_start(args, format);
    clcnn__vfail(ctx, status, format, args);
    va_end(args);
    return status;
}

clcnn_status clcnn__fail_cl(clcnn_context *ctx, cl_int code, const char *what) {
    return clcnn__fail(ctx, clcnn__status_from_cl(code), "%s: %s (%d)", what,
                       clcnn__cl_error_name(code), (int)code);
}

const char *clcnn_context_last_error(const clcnn_context *context) {
    if (context == NULL)
        return "invalid argument: context is NULL";
    return context->last_error != NULL ? context->last_error : "";
}

int clcnn__mul_size(size_t a, size_t b, size_t *out) {
    if (a != 0 && b > SIZE_MAX / a)
        return 0;
    *out = a * b;
    return 1;
}

size_t clcnn__round_up(size_t value, size_t multiple) {
    return (value + multiple - 1) / multiple * multiple;
}

char *clcnn__strdup(const char *s) {
    size_t length = strlen(s);
    char *copy = malloc(length + 1);
    if (copy != NULL)
        memcpy(copy, s, length + 1);
    return copy;
}
