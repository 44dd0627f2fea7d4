/* The Python module stub that lets setuptools build this library as an extension; Python loads
 * it with ctypes and calls the C entry points in register.c. */
#include <Python.h>

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_kernels",
                                    "C kernels for the LCE operators (loaded with ctypes).", -1,
                                    NULL};

PyMODINIT_FUNC PyInit__kernels(void) { return PyModule_Create(&module); }
