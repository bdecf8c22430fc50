#ifndef SWITCHYARD_COPENBLAS_SHIM_H
#define SWITCHYARD_COPENBLAS_SHIM_H
// Types and constants only: the library itself is opened at run time (Embedding's `OpenBLASLibrary`),
// on first use, so a process that never multiplies a dense matrix never starts OpenBLAS's thread pool.
#include <cblas.h>
#endif
