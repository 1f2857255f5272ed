/* clcnn-train's data parallelism (see train_dist.h): MPI and clcnn_dist
 * when built with them (CLCNN_TRAIN_MPI), one rank of one otherwise. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "train_dist.h"

#ifdef CLCNN_TRAIN_MPI
#include <mpi.h>

#include <clcnn/dist.h>
#endif

/* ---------------------------------------------------------------- devices */

/* Whether `text` contains `needle`, ignoring case. */
static int contains_ignoring_case(const char *text, const char *needle) {
    size_t n = strlen(needle);
    for (; *text != '\0'; text++) {
        size_t i = 0;
        while (i < n && text[i] != '\0' &&
               tolower((unsigned char)text[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return 1;
    }
    return n == 0;
}

static int is_type_name(const char *selector, clcnn_device_type *type) {
    static const char *const names[] = {"gpu", "cpu", "accelerator"};
    static const clcnn_device_type types[] = {CLCNN_DEVICE_TYPE_GPU, CLCNN_DEVICE_TYPE_CPU,
                                              CLCNN_DEVICE_TYPE_ACCELERATOR};
    for (size_t i = 0; i < 3; i++) {
        size_t k = 0;
        while (names[i][k] != '\0' &&
               tolower((unsigned char)selector[k]) == (unsigned char)names[i][k])
            k++;
        if (names[i][k] == '\0' && selector[k] == '\0') {
            *type = types[i];
            return 1;
        }
    }
    return 0;
}

/* Whether a usable device matches the selector, as clcnn_device_list_select
 * would consider it (without "P:D", which names one device; the default
 * takes GPUs first, see default_type). */
static int matches(const clcnn_device_info *info, const char *selector, clcnn_device_type type,
                   int by_type) {
    if (!info->supported)
        return 0;
    if (by_type)
        return info->type == type;
    const char *fields[] = {info->device_name, info->platform_name, info->platform_version,
                            info->vendor, info->driver_version};
    for (size_t i = 0; i < 5; i++)
        if (contains_ignoring_case(fields[i], selector))
            return 1;
    return 0;
}

/* The default choice's type: GPUs when there is a usable one, else CPUs. */
static clcnn_device_type default_type(const clcnn_device_list *list) {
    for (size_t i = 0; i < clcnn_device_list_count(list); i++) {
        clcnn_device_info info;
        if (clcnn_device_list_get(list, i, &info) == CLCNN_OK && info.supported &&
            info.type == CLCNN_DEVICE_TYPE_GPU)
            return CLCNN_DEVICE_TYPE_GPU;
    }
    return CLCNN_DEVICE_TYPE_CPU;
}

/* Device `pick` mod the count of the matching ones, as "P:D" into out;
 * 0 when none matches. */
static int pick_matching(const char *selector, size_t pick, char *out, size_t size) {
    clcnn_device_list *list = NULL;
    if (clcnn_device_list_create(&list) != CLCNN_OK)
        return 0;
    clcnn_device_type type = CLCNN_DEVICE_TYPE_OTHER;
    int by_type = selector == NULL || selector[0] == '\0' || is_type_name(selector, &type);
    if (selector == NULL || selector[0] == '\0')
        type = default_type(list);
    size_t count = 0, found = 0;
    clcnn_device_info info;
    for (int pass = 0; pass < 2; pass++) { /* count, then take */
        size_t seen = 0;
        for (size_t i = 0; i < clcnn_device_list_count(list); i++) {
            if (clcnn_device_list_get(list, i, &info) != CLCNN_OK ||
                !matches(&info, selector, type, by_type))
                continue;
            if (pass == 1 && seen == pick % count) {
                snprintf(out, size, "%zu:%zu", info.platform_index, info.device_index);
                found = 1;
                break;
            }
            seen++;
        }
        count = seen;
        if (count == 0)
            break;
    }
    clcnn_device_list_destroy(list);
    return (int)found;
}

/* Entry `index` mod the count of a comma-separated list, into out. */
static void list_entry(const char *list, size_t index, char *out, size_t size) {
    size_t entries = 1;
    for (const char *c = list; *c != '\0'; c++)
        entries += *c == ',';
    index %= entries;
    const char *start = list;
    for (size_t i = 0; i < index; i++)
        start = strchr(start, ',') + 1;
    size_t length = strcspn(start, ",");
    length = length < size - 1 ? length : size - 1;
    memcpy(out, start, length);
    out[length] = '\0';
}

const char *train_dist_device(train_dist *d, const char *selector) {
    if (d->size <= 1)
        return selector;
    const char *spec = selector != NULL ? selector : getenv("CLCNN_DEVICE");
    char entry[sizeof d->device];
    if (spec != NULL && strchr(spec, ',') != NULL) {
        list_entry(spec, d->local_rank, entry, sizeof entry);
        snprintf(d->device, sizeof d->device, "%s", entry);
        if (strchr(entry, ':') == NULL && !pick_matching(entry, 0, d->device, sizeof d->device))
            snprintf(d->device, sizeof d->device, "%s", entry);
        return d->device;
    }
    if (spec != NULL && strchr(spec, ':') != NULL)
        return spec; /* "P:D" names one device */
    return pick_matching(spec, d->local_rank, d->device, sizeof d->device) ? d->device : spec;
}

void train_dist_share(const train_dist *d, size_t total, size_t *first, size_t *count) {
    size_t share = total / d->size, extra = total % d->size;
    *first = d->rank * share + (d->rank < extra ? d->rank : extra);
    *count = share + (d->rank < extra ? 1 : 0);
}

#ifdef CLCNN_TRAIN_MPI

/* ------------------------------------------------------------------- MPI */

/* What MPI launchers put in the environment of the processes they start:
 * Open MPI, MPICH and Intel MPI (Hydra's PMI), PMIx-based launchers. */
static int launched_by_mpi(void) {
    static const char *const names[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (getenv(names[i]) != NULL)
            return 1;
    return 0;
}

int train_dist_start(int *argc, char ***argv, train_dist *d) {
    memset(d, 0, sizeof *d);
    d->size = 1;
    if (!launched_by_mpi())
        return 0;
    if (MPI_Init(argc, argv) != MPI_SUCCESS) {
        fprintf(stderr, "clcnn-train: MPI_Init failed\n");
        return 1;
    }
    d->mpi_started = 1;
    int rank = 0, size = 1, local = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Comm host = MPI_COMM_NULL;
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &host) ==
        MPI_SUCCESS) {
        MPI_Comm_rank(host, &local);
        MPI_Comm_free(&host);
    }
    d->rank = (size_t)rank;
    d->size = (size_t)size;
    d->local_rank = (size_t)local;
    return 0;
}

void train_dist_end(train_dist *d, int failed) {
    if (!d->mpi_started)
        return;
    if (failed && d->size > 1) {
        /* The others may be waiting for this rank in a collective: a report
         * (train_dist_report) has had a moment to reach them; then stop
         * the job rather than leave any rank waiting. */
        fflush(stdout);
        fflush(stderr);
        sleep(1);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    MPI_Finalize();
}

int train_dist_attach(train_dist *d, clcnn_context *ctx, clcnn_net *net, int sync_bn) {
    if (d->size <= 1)
        return 0;
    char error[1024] = "";
    clcnn_dist_options options = clcnn_dist_options_default();
    options.sync_batchnorm = sync_bn;
    options.error_buffer = error;
    options.error_buffer_size = sizeof error;
    clcnn_dist *dist = NULL;
    clcnn_status status = clcnn_dist_create(ctx, MPI_COMM_WORLD, &options, &dist);
    if (status != CLCNN_OK) {
        fprintf(stderr, "clcnn-train (rank %zu of %zu): %s: %s\n", d->rank, d->size,
                clcnn_status_name(status), error);
        return 1;
    }
    d->handle = dist;
    status = clcnn_dist_attach_net(dist, net);
    if (status != CLCNN_OK) {
        fprintf(stderr, "clcnn-train (rank %zu of %zu): %s: %s\n", d->rank, d->size,
                clcnn_status_name(status), clcnn_dist_last_error(dist));
        return 1;
    }
    return 0;
}

void train_dist_detach(train_dist *d) {
    clcnn_dist_destroy(d->handle);
    d->handle = NULL;
}

clcnn_status train_dist_broadcast_parameters(train_dist *d, clcnn_net *net) {
    if (d->handle == NULL)
        return CLCNN_OK;
    size_t count = clcnn_net_parameter_count(net);
    clcnn_tensor **values = calloc(count, sizeof *values);
    clcnn_status status = values != NULL ? CLCNN_OK : CLCNN_ERROR_OUT_OF_HOST_MEMORY;
    for (size_t i = 0; i < count && status == CLCNN_OK; i++) {
        clcnn_net_tensor p;
        status = clcnn_net_parameter(net, i, &p);
        values[i] = p.value;
    }
    if (status == CLCNN_OK)
        status = clcnn_dist_broadcast(d->handle, 0, count, values);
    free(values);
    return status;
}

clcnn_status train_dist_share_running_stats(train_dist *d) {
    return d->handle != NULL ? clcnn_dist_broadcast_running_stats(d->handle, 0) : CLCNN_OK;
}

clcnn_status train_dist_gradients(train_dist *d) {
    return d->handle != NULL ? clcnn_dist_allreduce_grads(d->handle) : CLCNN_OK;
}

clcnn_status train_dist_sum(train_dist *d, double *values, size_t count) {
    return d->handle != NULL ? clcnn_dist_sum(d->handle, values, count) : CLCNN_OK;
}

const char *train_dist_error(const train_dist *d) {
    return d->handle != NULL ? clcnn_dist_last_error(d->handle) : "";
}

void train_dist_report(train_dist *d, clcnn_status status, const char *message) {
    if (d->handle != NULL && status != CLCNN_ERROR_PEER_FAILED)
        clcnn_dist_report_failure(d->handle, status, message);
}

#else /* one process */

int train_dist_start(int *argc, char ***argv, train_dist *d) {
    (void)argc;
    (void)argv;
    memset(d, 0, sizeof *d);
    d->size = 1;
    return 0;
}

void train_dist_end(train_dist *d, int failed) {
    (void)d;
    (void)failed;
}

int train_dist_attach(train_dist *d, clcnn_context *ctx, clcnn_net *net, int sync_bn) {
    (void)d;
    (void)ctx;
    (void)net;
    (void)sync_bn;
    return 0;
}

void train_dist_detach(train_dist *d) {
    (void)d;
}

clcnn_status train_dist_broadcast_parameters(train_dist *d, clcnn_net *net) {
    (void)d;
    (void)net;
    return CLCNN_OK;
}

clcnn_status train_dist_share_running_stats(train_dist *d) {
    (void)d;
    return CLCNN_OK;
}

clcnn_status train_dist_gradients(train_dist *d) {
    (void)d;
    return CLCNN_OK;
}

clcnn_status train_dist_sum(train_dist *d, double *values, size_t count) {
    (void)d;
    (void)values;
    (void)count;
    return CLCNN_OK;
}

const char *train_dist_error(const train_dist *d) {
    (void)d;
    return "";
}

void train_dist_report(train_dist *d, clcnn_status status, const char *message) {
    (void)d;
    (void)status;
    (void)message;
}

#endif
