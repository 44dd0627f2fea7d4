/* Entry points: registering the LCE operators into a TFLite op resolver, kernel choice and the
 * struct sizes the loader checks. */
#include <stddef.h>

#include "bgemm.h"
#include "ops.h"

/* tflite::MutableOpResolver::AddCustom(const char*, const TfLiteRegistration*, int) called through
 * its address with the resolver as `this` (Itanium C++ ABI: `this` is the first argument). */
typedef void (*AddCustomFn)(void* resolver, const char* name,
                            const TfLiteRegistration* registration, int version);

/* Registers LceQuantize, LceDequantize, LceBconv2d and LceBMaxPool2d. Returns the count. */
int bitnets_register(void* resolver, void* add_custom) {
  if (!resolver || !add_custom) return 0;
  AddCustomFn add = (AddCustomFn)add_custom;
  TfLiteRegistration* all[] = {bn_register_quantize(), bn_register_dequantize(),
                               bn_register_bconv2d(), bn_register_bmaxpool()};
  for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); ++i)
    add(resolver, all[i]->custom_name, all[i], 1);
  return (int)(sizeof(all) / sizeof(all[0]));
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

