/* Symbol visibility for libclcnn: everything is hidden unless marked
 * CLCNN_API. A static build defines CLCNN_STATIC (done by the CMake package
 * and pkg-config file for the static library). */
#ifndef CLCNN_EXPORT_H
#define CLCNN_EXPORT_H

#if defined(CLCNN_STATIC)
#define CLCNN_API
#elif defined(_WIN32)
#if defined(CLCNN_BUILDING)
#define CLCNN_API __declspec(dllexport)
#else
#define CLCNN_API __declspec(dllimport)
#endif
#elif defined(__GNUC__)
#define CLCNN_API __attribute__((visibility("default")))
#else
#define CLCNN_API
#endif

#endif
