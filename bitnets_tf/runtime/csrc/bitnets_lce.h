/* Public entry points of the bitnets kernels for larq-compute-engine's operators (LceQuantize,
 * LceDequantize, LceBconv2d, LceBMaxPool2d), for C and C++ programs that embed TFLite. */
#ifndef BITNETS_LCE_H_
#define BITNETS_LCE_H_

#ifdef __cplusplus
extern "C" {
#endif

struct TfLiteRegistration;
struct TfLiteDelegate;

/* Operator `index` (0 to 3; NULL past the end), e.g. for TFLite's C API:
 *   for (int i = 0; (r = bitnets_registration(i)); ++i)
 *     TfLiteInterpreterOptionsAddCustomOp(options, r->custom_name, r, 1, 1);
 * or, in C++: resolver.AddCustom(r->custom_name, r). */
const struct TfLiteRegistration* bitnets_registration(int index);

/* Registers all four into a tflite::MutableOpResolver through the address of its AddCustom
 * member function (what bitnets_tf.runtime does from Python). Returns the count. */
int bitnets_register(void* resolver, void* add_custom);

/* A TfLiteDelegate that runs these operators: it claims every node whose custom operator is one
 * of the four (placeholders in an interpreter built without them) and leaves the rest, e.g. for
 * the default XNNPACK delegate. For interpreters without a custom-operator hook, such as TFLite's
 * Java API (`Interpreter.Options.addDelegate` with a Delegate whose getNativeHandle() returns it).
 * Delete it after the interpreters that use it. The library also exports TFLite's external-delegate
 * entry points, tflite_plugin_create_delegate / tflite_plugin_destroy_delegate, which Python's
 * `load_delegate(path)` calls. */
struct TfLiteDelegate* bitnets_delegate_create(void);
void bitnets_delegate_delete(struct TfLiteDelegate* delegate);

/* The binary GEMM kernel in use ("avx512", "avx2", "popcnt", "neon", "portable") and forcing
 * one for operators created afterwards (NULL: the fastest); returns 0 if unavailable. */
const char* bitnets_kernel(void);
int bitnets_force_kernel(const char* name);

#ifdef __cplusplus
}
#endif

#endif /* BITNETS_LCE_H_ */
