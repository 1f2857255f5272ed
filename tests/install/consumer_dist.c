/* A program outside the library that uses an installed MPI component
 * (clcnn/dist.h, libclcnn_dist): built by check_install.sh with pkg-config
 * (module clcnn-dist) and with find_package(clcnn COMPONENTS dist), shared
 * and static, and run as a singleton MPI process. */
#include <clcnn.h>
#include <clcnn/dist.h>

#include <stdio.h>

int main(int argc, char **argv) {
    size_t first = 0, count = 0;
    if (clcnn_dist_split(10, 4, 3, &first, &count) != CLCNN_OK || first != 8 || count != 2) {
        fprintf(stderr, "consumer_dist: clcnn_dist_split(10, 4, 3) gave %zu, %zu\n", first, count);
        return 1;
    }
    MPI_Init(&argc, &argv);
    clcnn_context *ctx = NULL;
    clcnn_status status = clcnn_context_create(NULL, &ctx);
    int result = 0;
    if (status == CLCNN_OK) {
        clcnn_dist *dist = NULL;
        status = clcnn_dist_create(ctx, MPI_COMM_SELF, NULL, &dist);
        if (status == CLCNN_OK)
            printf("clcnn_dist: rank %zu of %zu\n", clcnn_dist_rank(dist), clcnn_dist_size(dist));
        else
            result = 1;
        clcnn_dist_destroy(dist);
        clcnn_context_destroy(ctx);
    } else if (status != CLCNN_ERROR_NO_PLATFORM) {
        result = 1; /* a machine without any platform is fine here */
    }
    if (result != 0)
        fprintf(stderr, "consumer_dist: %s\n", clcnn_status_name(status));
    MPI_Finalize();
    return result;
}
