/* A program outside the library that uses an installed libclcnn through its
 * public header only: built by check_install.sh with pkg-config and with
 * find_package(clcnn), against the shared and the static library. */
#include <clcnn.h>

#include <stdio.h>
#include <string.h>

int main(void) {
    const char *version = clcnn_version();
    if (version == NULL || strcmp(version, CLCNN_VERSION_STRING) != 0) {
        fprintf(stderr, "consumer: clcnn_version() is \"%s\", header says \"%s\"\n",
                version ? version : "(null)", CLCNN_VERSION_STRING);
        return 1;
    }
    printf("libclcnn %s\n", version);

    const char *name = clcnn_status_name(CLCNN_ERROR_INVALID_ARGUMENT);
    if (name == NULL || strcmp(name, "CLCNN_ERROR_INVALID_ARGUMENT") != 0) {
        fprintf(stderr, "consumer: clcnn_status_name gave \"%s\"\n", name ? name : "(null)");
        return 1;
    }
    const char *text = clcnn_status_string(CLCNN_ERROR_INVALID_ARGUMENT);
    if (text == NULL || text[0] == '\0') {
        fprintf(stderr, "consumer: clcnn_status_string gave an empty description\n");
        return 1;
    }
    printf("%s: %s\n", name, text);

    /* Reaches the OpenCL loader through the library's link interface. A
     * machine without any platform is fine here; any other error is not. */
    clcnn_device_list *devices = NULL;
    clcnn_status status = clcnn_device_list_create(&devices);
    if (status == CLCNN_OK) {
        printf("%zu OpenCL device(s)\n", clcnn_device_list_count(devices));
        clcnn_device_list_destroy(devices);
    } else if (status != CLCNN_ERROR_NO_PLATFORM) {
        fprintf(stderr, "consumer: clcnn_device_list_create: %s\n", clcnn_status_name(status));
        return 1;
    }
    return 0;
}
