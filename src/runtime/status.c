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

/* The writable context behind a const handle, for the last error only (see
 * clcnn__fail in internal.h). Through uintptr_t, as the one deliberate
 * const cast of the library (-Wcast-qual guards every other). */
static clcnn_context *error_holder(const clcnn_context *ctx) {
    return (clcnn_context *)(uintptr_t)ctx;
}

static void store_error(clcnn_context *ctx, char *message) {
    if (ctx->last_error != ctx->last_error_fallback)
        free(ctx->last_error);
    ctx->last_error = message;
    ctx->error_count++;
}

void clcnn__set_error_text(const clcnn_context *context, const char *text) {
    if (context == NULL)
        return;
    clcnn_context *ctx = error_holder(context);
    char *copy = clcnn__strdup(text);
    if (copy == NULL) {
        snprintf(ctx->last_error_fallback, sizeof ctx->last_error_fallback, "%s", text);
        copy = ctx->last_error_fallback;
    }
    store_error(ctx, copy);
}

clcnn_status clcnn__vfail(const clcnn_context *context, clcnn_status status, const char *format,
                          va_list args) {
    if (context == NULL)
        return status;
    clcnn_context *ctx = error_holder(context);
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

clcnn_status clcnn__fail(const clcnn_context *ctx, clcnn_status status, const char *format, ...) {
    va_list args;
    va_start(args, format);
    clcnn__vfail(ctx, status, format, args);
    va_end(args);
    return status;
}

clcnn_status clcnn__fail_cl(const clcnn_context *ctx, cl_int code, const char *what) {
    return clcnn__fail(ctx, clcnn__status_from_cl(code), "%s: %s (%d)", what,
                       clcnn__cl_error_name(code), (int)code);
}

clcnn__error_mark clcnn__error_mark_take(const clcnn_context *ctx) {
    return ctx != NULL ? ctx->error_count : 0;
}

clcnn_status clcnn__named(const clcnn_context *ctx, clcnn__error_mark mark, const char *function,
                          clcnn_status status) {
    if (status == CLCNN_OK || ctx == NULL)
        return status;
    if (ctx->error_count == mark)
        return clcnn__fail(ctx, status, "%s: %s", function, clcnn_status_string(status));
    size_t length = strlen(function);
    const char *message = ctx->last_error != NULL ? ctx->last_error : "";
    if (strncmp(message, function, length) == 0 && message[length] == ':')
        return status;
    /* The fallback buffer would be both source and destination. */
    char copy[sizeof ctx->last_error_fallback];
    if (message == ctx->last_error_fallback) {
        snprintf(copy, sizeof copy, "%s", message);
        message = copy;
    }
    return clcnn__fail(ctx, status, "%s: %s", function, message);
}

const char *clcnn_context_last_error(const clcnn_context *context) {
    if (context == NULL)
        return "invalid argument: context is NULL";
    return context->last_error != NULL ? context->last_error : "";
}

size_t clcnn__round_up(size_t value, size_t multiple) {
    return (value + multiple - 1) / multiple * multiple;
}
