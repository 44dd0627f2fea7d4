/* Entry points: registering the LCE operators into a TFLite op resolver, kernel choice and the
 * struct sizes the loader checks. */
#include <stddef.h>

#include "bgemm.h"
#include "bitnets_lce.h"
#include "ops.h"

/* tflite::MutableOpResolver::AddCustom(const char*, const TfLiteRegistration*, int) called through
 * its address with the resolver as `this` (Itanium C++ ABI: `this` is the first argument). */
typedef void (*AddCustomFn)(void* resolver, const char* name,
                            const TfLiteRegistration* registration, int version);

/* Registers LceQuantize, LceDequantize, LceBconv2d and LceBMaxPool2d. Returns the count. */
int bitnets_register(void* resolver, void* add_custom) {
  if (!resolver || !add_custom) return 0;
  AddCustomFn add = (AddCustomFn)add_custom;
  int count = 0;
  for (const struct TfLiteRegistration* r; (r = bitnets_registration(count)) != NULL; ++count)
    add(resolver, r->custom_name, r, 1);
  return count;
}

/* The binary GEMM kernel new operators use ("avx512", "avx2", "popcnt", "neon", "portable"). */
const char* bitnets_kernel(void) { return bn_bgemm_name(); }

/* Forces a kernel by name for operators created afterwards (NULL or "": the fastest). */
int bitnets_force_kernel(const char* name) {
  return bn_bgemm_force(name && name[0] ? name : NULL);
}

/* Sizes of the declared TFLite structs, for the loader's layout check. */
void bitnets_abi_sizes(size_t* sizes) {
  sizes[0] = sizeof(TfLiteTensor);
  sizes[1] = sizeof(TfLiteNode);
  sizes[2] = offsetof(TfLiteContext, recommended_num_threads);
}


/* The registration of operator `index` (0 to 3, NULL past the end) for TFLite's C API, e.g.
 *   TfLiteInterpreterOptionsAddCustomOp(options, r->custom_name, r, 1, 1);
 * (Android's libtensorflowlite_jni.so, tflite-runtime's and LiteRT's C libraries). */
const struct TfLiteRegistration* bitnets_registration(int index) {
  switch (index) {
    case 0:
      return bn_register_quantize();
    case 1:
      return bn_register_dequantize();
    case 2:
      return bn_register_bconv2d();
    case 3:
      return bn_register_bmaxpool();
    default:
      return NULL;
  }
}
