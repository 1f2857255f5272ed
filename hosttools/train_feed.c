/* Double-buffered batch uploads (see train_feed.h). Batch j goes to slot
 * j % 2 of its size: its upload waits on the device for the marker left by
 * batch j - 2, the last user of that slot, and the host waits for the
 * slot's previous upload before overwriting its staging buffer. */
#include <stdlib.h>
#include <string.h>

#include "train_feed.h"

void train_feed_init(train_feed *feed, clcnn_context *ctx, size_t batch, size_t classes) {
    memset(feed, 0, sizeof *feed);
    feed->ctx = ctx;
    feed->batch = batch;
    feed->classes = classes;
    feed->ranks = 1;
}

void train_feed_share(train_feed *feed, size_t ranks, size_t rank) {
    feed->ranks = ranks;
    feed->rank = rank;
}

size_t train_feed_steps(const train_feed *feed, size_t count) {
    return count / feed->batch + (count % feed->batch >= feed->ranks ? 1 : 0);
}

/* This rank's share of a global batch of n (clcnn_dist_split's rule). */
static void share_of(const train_feed *feed, size_t n, size_t *first, size_t *count) {
    size_t share = n / feed->ranks, extra = n % feed->ranks;
    *first = feed->rank * share + (feed->rank < extra ? feed->rank : extra);
    *count = share + (feed->rank < extra ? 1 : 0);
}

/* Waits for the slot's uploads (its staging buffers are free afterwards). */
static clcnn_status settle_uploads(feed_slot *slot) {
    clcnn_status status = CLCNN_OK;
    for (int i = 0; i < 2; i++) {
        if (slot->uploaded[i] != NULL) {
            clcnn_status wait = clcnn_event_wait(slot->uploaded[i]);
            status = status == CLCNN_OK ? wait : status;
        }
        clcnn_event_destroy(slot->uploaded[i]);
        slot->uploaded[i] = NULL;
    }
    return status;
}

static void release_slot(feed_slot *slot) {
    settle_uploads(slot);
    clcnn_event_destroy(slot->consumed);
    clcnn_tensor_destroy(slot->input);
    clcnn_labels_destroy(slot->labels);
    free(slot->host_pixels);
    free(slot->host_labels);
    memset(slot, 0, sizeof *slot);
}

void train_feed_free(train_feed *feed) {
    for (int i = 0; i < 4; i++)
        release_slot(&feed->slots[i]);
    feed->ready = NULL;
}

/* Makes the slot hold batches of n samples of split's image size. */
static clcnn_status shape_slot(train_feed *feed, feed_slot *slot, size_t n) {
    const train_split *split = feed->split;
    if (slot->size == n && clcnn_tensor_dim(slot->input, 2) == split->height &&
        clcnn_tensor_dim(slot->input, 3) == split->width)
        return CLCNN_OK;
    release_slot(slot);
    size_t dims[4] = {n, 1, split->height, split->width};
    clcnn_status status = clcnn_tensor_create(feed->ctx, 4, dims, &slot->input);
    if (status == CLCNN_OK)
        status = clcnn_labels_create(feed->ctx, n, feed->classes, &slot->labels);
    slot->host_pixels = malloc(n * split->height * split->width * sizeof *slot->host_pixels);
    slot->host_labels = malloc(n * sizeof *slot->host_labels);
    if (status == CLCNN_OK && (slot->host_pixels == NULL || slot->host_labels == NULL))
        status = CLCNN_ERROR_OUT_OF_HOST_MEMORY;
    /* The buffers may come from the context's pool, last used by work still
     * queued: the first upload waits for everything enqueued so far. */
    if (status == CLCNN_OK)
        status = clcnn_context_marker(feed->ctx, &slot->consumed);
    slot->size = n;
    if (status != CLCNN_OK)
        release_slot(slot);
    return status;
}

/* Gathers the next batch into its slot and starts its upload. */
static clcnn_status prefetch(train_feed *feed) {
    const train_split *split = feed->split;
    if (feed->next_first >= split->count || split->count - feed->next_first < feed->ranks) {
        feed->ready = NULL;
        return CLCNN_OK;
    }
    size_t global = split->count - feed->next_first, first = 0, n = 0;
    global = global < feed->batch ? global : feed->batch;
    share_of(feed, global, &first, &n);
    feed_slot *slot = &feed->slots[(global == feed->batch ? 0 : 2) + feed->fetches % 2];
    clcnn_status status = settle_uploads(slot);
    if (status == CLCNN_OK)
        status = shape_slot(feed, slot, n);
    if (status != CLCNN_OK)
        return status;
    slot->first_in_batch = first;
    slot->global_size = global;
    train_gather(split, feed->order, feed->next_first + first, n, slot->host_pixels,
                 slot->host_labels);
    size_t pixels = n * split->height * split->width;
    status = clcnn_tensor_upload_async(slot->input, 0, slot->host_pixels, pixels, slot->consumed,
                                       &slot->uploaded[0]);
    if (status == CLCNN_OK)
        status = clcnn_labels_upload_async(slot->labels, slot->host_labels, n, slot->consumed,
                                           &slot->uploaded[1]);
    feed->next_first += global;
    feed->fetches++;
    feed->ready = slot;
    return status;
}

clcnn_status train_feed_begin(train_feed *feed, const train_split *split, const size_t *order) {
    feed->split = split;
    feed->order = order;
    feed->next_first = 0;
    feed->fetches = 0;
    return prefetch(feed);
}

clcnn_status train_feed_next(train_feed *feed, feed_slot **out) {
    feed_slot *slot = feed->ready;
    *out = slot;
    if (slot == NULL)
        return CLCNN_ERROR_OUT_OF_RANGE;
    /* The upload queue is in order and the labels go after the pixels:
     * waiting for the labels covers both, with one barrier per step. */
    return clcnn_context_wait_event(feed->ctx, slot->uploaded[1]);
}

clcnn_status train_feed_release(train_feed *feed, feed_slot *slot) {
    clcnn_event_destroy(slot->consumed);
    slot->consumed = NULL;
    clcnn_status status = clcnn_context_marker(feed->ctx, &slot->consumed);
    return status == CLCNN_OK ? prefetch(feed) : status;
}
