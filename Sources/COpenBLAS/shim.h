#ifndef SWITCHYARD_COPENBLAS_SHIM_H
#define SWITCHYARD_COPENBLAS_SHIM_H
#include <cblas.h>
#endif
