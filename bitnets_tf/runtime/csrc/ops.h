/* The LCE operators implemented here and the helpers they share. */
#ifndef BITNETS_OPS_H_
#define BITNETS_OPS_H_

#include "tflite_abi.h"

#define BN_WORD_BITS 32

TfLiteRegistration* bn_register_quantize(void);
TfLiteRegistration* bn_register_dequantize(void);
TfLiteRegistration* bn_register_bmaxpool(void);
TfLiteRegistration* bn_register_bconv2d(void);

static inline int bn_packed_size(int channels) { return (channels + BN_WORD_BITS - 1) / BN_WORD_BITS; }

/* TFLite's output size and leading padding for SAME / VALID (schema enum) windows. */
typedef struct {
  int out;
  int pad;
} BnWindow;
int bn_window(int padding, int in, int filter, int stride, int dilation, BnWindow* window);

/* A new 4-D shape array for ResizeTensor (which takes ownership). */
TfLiteIntArray* bn_shape4(int n, int h, int w, int c);
TfLiteIntArray* bn_shape_copy(const TfLiteIntArray* dims);

/* Product of all dimensions but the last. */
int bn_outer_size(const TfLiteIntArray* dims);

#endif /* BITNETS_OPS_H_ */
