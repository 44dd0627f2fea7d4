/* LceQuantize (pack signs into 32-bit words along the last axis), LceDequantize (unpack) and
 * LceBMaxPool2d (max-pool of packed signs), with LCE 0.16's semantics: bit i of word w is channel
 * 32*w + i, a set bit means -1 (float < 0, int8 < zero point, bool false), padding bits are 0. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "flexbuffer.h"
#include "ops.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define BN_X86 1
#endif

int bn_window(int padding, int in, int filter, int stride, int dilation, BnWindow* window) {
  const int effective = (filter - 1) * dilation + 1;
  if (stride <= 0 || dilation <= 0 || filter <= 0) return 0;
  if (padding == kPaddingSame) {
    window->out = (in + stride - 1) / stride;
  } else if (padding == kPaddingValid) {
    window->out = (in + stride - effective) / stride;
  } else {
    return 0;
  }
  const int total = (window->out - 1) * stride + effective - in;
  window->pad = total > 0 ? total / 2 : 0;
  return window->out > 0;
}

TfLiteIntArray* bn_shape4(int n, int h, int w, int c) {
  TfLiteIntArray* a = malloc(sizeof(TfLiteIntArray) + 4 * sizeof(int));
  if (!a) return NULL;
  a->size = 4;
  a->data[0] = n;
  a->data[1] = h;
  a->data[2] = w;
  a->data[3] = c;
  return a;
}

TfLiteIntArray* bn_shape_copy(const TfLiteIntArray* dims) {
  TfLiteIntArray* a = malloc(sizeof(TfLiteIntArray) + (size_t)dims->size * sizeof(int));
  if (!a) return NULL;
  a->size = dims->size;
  memcpy(a->data, dims->data, (size_t)dims->size * sizeof(int));
  return a;
}

int bn_outer_size(const TfLiteIntArray* dims) {
  int n = 1;
  for (int i = 0; i + 1 < dims->size; ++i) n *= dims->data[i];
  return n;
}

/* ---- LceQuantize ---- */

static TfLiteStatus quantize_prepare(TfLiteContext* ctx, TfLiteNode* node) {
  BN_ENSURE(ctx, node->inputs->size == 1 && node->outputs->size == 1,
            "LceQuantize: expected 1 input and 1 output.");
  const TfLiteTensor* in = bn_input(ctx, node, 0);
  TfLiteTensor* out = bn_output(ctx, node, 0);
  BN_ENSURE(ctx, in->type == kTfLiteFloat32 || in->type == kTfLiteInt8 || in->type == kTfLiteBool,
            "LceQuantize: input must be float32, int8 or bool.");
  BN_ENSURE(ctx, out->type == kTfLiteInt32, "LceQuantize: output must be int32.");
  BN_ENSURE(ctx, in->dims->size >= 1 && in->dims->size <= 8, "LceQuantize: bad input rank.");
  TfLiteIntArray* shape = bn_shape_copy(in->dims);
  BN_ENSURE(ctx, shape != NULL, "LceQuantize: out of memory.");
  shape->data[shape->size - 1] = bn_packed_size(in->dims->data[in->dims->size - 1]);
  return ctx->ResizeTensor(ctx, out, shape);
}

/* Packs `words` full words of float signs (v < 0: bit set; -0.0 and NaN: clear). */
static void pack_floats_portable(const float* src, int words, uint32_t* dst) {
  for (int w = 0; w < words; ++w, src += BN_WORD_BITS) {
    uint32_t bits = 0;
    for (int i = 0; i < BN_WORD_BITS; ++i) bits |= (uint32_t)(src[i] < 0.0f) << i;
    dst[w] = bits;
  }
}

#ifdef BN_X86
__attribute__((target("avx2"))) static void pack_floats_avx2(const float* src, int words,
                                                              uint32_t* dst) {
  const __m256 zero = _mm256_setzero_ps();
  for (int w = 0; w < words; ++w, src += BN_WORD_BITS) {
    uint32_t bits = 0;
    for (int j = 0; j < 4; ++j) {
      const __m256 less = _mm256_cmp_ps(_mm256_loadu_ps(src + 8 * j), zero, _CMP_LT_OQ);
      bits |= (uint32_t)_mm256_movemask_ps(less) << (8 * j);
    }
    dst[w] = bits;
  }
}

__attribute__((target("avx512f"))) static void pack_floats_avx512(const float* src, int words,
                                                                   uint32_t* dst) {
  const __m512 zero = _mm512_setzero_ps();
  for (int w = 0; w < words; ++w, src += BN_WORD_BITS) {
    const uint32_t lo = _mm512_cmp_ps_mask(_mm512_loadu_ps(src), zero, _CMP_LT_OQ);
    const uint32_t hi = _mm512_cmp_ps_mask(_mm512_loadu_ps(src + 16), zero, _CMP_LT_OQ);
    dst[w] = lo | (hi << 16);
  }
}
#endif

typedef void (*PackFloats)(const float* src, int words, uint32_t* dst);

static PackFloats pack_floats_select(void) {
#ifdef BN_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return pack_floats_avx512;
  if (__builtin_cpu_supports("avx2")) return pack_floats_avx2;
#endif
  return pack_floats_portable;
}

static TfLiteStatus quantize_eval(TfLiteContext* ctx, TfLiteNode* node) {
  const TfLiteTensor* in = bn_input(ctx, node, 0);
  TfLiteTensor* out = bn_output(ctx, node, 0);
  const int rows = bn_outer_size(in->dims);
  const int cols = in->dims->data[in->dims->size - 1];
  const int words = bn_packed_size(cols);
  uint32_t* dst = out->data;
  int full = 0; /* words packed by the SIMD path, per row */
  if (in->type == kTfLiteFloat32) {
    static PackFloats pack = NULL;
    if (!pack) pack = pack_floats_select();
    full = cols / BN_WORD_BITS;
    for (int r = 0; r < rows; ++r)
      pack((const float*)in->data + (size_t)r * cols, full, dst + (size_t)r * words);
  }
  for (int r = 0; r < rows; ++r) {
    for (int w = full; w < words; ++w) {
      const int start = w * BN_WORD_BITS;
      const int n = cols - start < BN_WORD_BITS ? cols - start : BN_WORD_BITS;
      uint32_t bits = 0;
      if (in->type == kTfLiteFloat32) {
        const float* src = (const float*)in->data + (size_t)r * cols + start;
        for (int i = 0; i < n; ++i) bits |= (uint32_t)(src[i] < 0.0f) << i;
      } else if (in->type == kTfLiteInt8) {
        const int8_t* src = (const int8_t*)in->data + (size_t)r * cols + start;
        const int zero_point = in->params.zero_point;
        for (int i = 0; i < n; ++i) bits |= (uint32_t)(src[i] < zero_point) << i;
      } else {
        const uint8_t* src = (const uint8_t*)in->data + (size_t)r * cols + start;
        for (int i = 0; i < n; ++i) bits |= (uint32_t)(src[i] == 0) << i;
      }
      dst[(size_t)r * words + w] = bits;
    }
  }
  return kTfLiteOk;
}

/* ---- LceDequantize ---- */

static TfLiteStatus dequantize_prepare(TfLiteContext* ctx, TfLiteNode* node) {
  BN_ENSURE(ctx, node->inputs->size == 1 && node->outputs->size == 1,
            "LceDequantize: expected 1 input and 1 output.");
  const TfLiteTensor* in = bn_input(ctx, node, 0);
  const TfLiteTensor* out = bn_output(ctx, node, 0);
  BN_ENSURE(ctx, in->type == kTfLiteInt32, "LceDequantize: input must be int32.");
  BN_ENSURE(ctx,
            out->type == kTfLiteFloat32 || out->type == kTfLiteInt8 || out->type == kTfLiteBool,
            "LceDequantize: output must be float32, int8 or bool.");
  const int rank = in->dims->size;
  BN_ENSURE(ctx, rank >= 1 && rank == out->dims->size, "LceDequantize: ranks differ.");
  for (int i = 0; i + 1 < rank; ++i)
    BN_ENSURE(ctx, in->dims->data[i] == out->dims->data[i], "LceDequantize: shapes differ.");
  BN_ENSURE(ctx, in->dims->data[rank - 1] == bn_packed_size(out->dims->data[rank - 1]),
            "LceDequantize: packed channel count does not match the output.");
  if (out->type == kTfLiteInt8)
    BN_ENSURE(ctx, out->params.scale > 0.0f, "LceDequantize: int8 output without a scale.");
  return kTfLiteOk;
}

static TfLiteStatus dequantize_eval(TfLiteContext* ctx, TfLiteNode* node) {
  const TfLiteTensor* in = bn_input(ctx, node, 0);
  TfLiteTensor* out = bn_output(ctx, node, 0);
  const int rows = bn_outer_size(out->dims);
  const int cols = out->dims->data[out->dims->size - 1];
  const int words = bn_packed_size(cols);
  const uint32_t* src = in->data;
  int8_t plus8 = 0, minus8 = 0;
  if (out->type == kTfLiteInt8) {
    const int offset = (int)roundf(1.0f / out->params.scale);
    const int zero_point = out->params.zero_point;
    plus8 = (int8_t)(zero_point + offset < 127 ? zero_point + offset : 127);
    minus8 = (int8_t)(zero_point - offset > -128 ? zero_point - offset : -128);
  }
  for (int r = 0; r < rows; ++r) {
    const uint32_t* row = src + (size_t)r * words;
    for (int c = 0; c < cols; ++c) {
      const int negative = (row[c / BN_WORD_BITS] >> (c % BN_WORD_BITS)) & 1;
      const size_t i = (size_t)r * cols + c;
      if (out->type == kTfLiteFloat32) {
        ((float*)out->data)[i] = negative ? -1.0f : 1.0f;
      } else if (out->type == kTfLiteInt8) {
        ((int8_t*)out->data)[i] = negative ? minus8 : plus8;
      } else {
        ((uint8_t*)out->data)[i] = negative ? 0 : 1;
      }
    }
  }
  return kTfLiteOk;
}

/* ---- LceBMaxPool2d ---- */

typedef struct {
  int32_t filter_h, filter_w, stride_h, stride_w, padding;
  int ok;
  BnWindow rows, cols;
} BMaxPool;

static void* bmaxpool_init(TfLiteContext* ctx, const char* buffer, size_t length) {
  (void)ctx;
  BMaxPool* p = calloc(1, sizeof(BMaxPool));
  if (!p) return NULL;
  const uint8_t* b = (const uint8_t*)buffer;
  p->ok = bn_flex_map_int(b, length, "filter_height", &p->filter_h) &&
          bn_flex_map_int(b, length, "filter_width", &p->filter_w) &&
          bn_flex_map_int(b, length, "stride_height", &p->stride_h) &&
          bn_flex_map_int(b, length, "stride_width", &p->stride_w) &&
          bn_flex_map_int(b, length, "padding", &p->padding);
  return p;
}

static void bn_free(TfLiteContext* ctx, void* data) {
  (void)ctx;
  free(data);
}

static TfLiteStatus bmaxpool_prepare(TfLiteContext* ctx, TfLiteNode* node) {
  BMaxPool* p = node->user_data;
  BN_ENSURE(ctx, p != NULL && p->ok, "LceBMaxPool2d: unreadable custom options.");
  BN_ENSURE(ctx, node->inputs->size == 1 && node->outputs->size == 1,
            "LceBMaxPool2d: expected 1 input and 1 output.");
  const TfLiteTensor* in = bn_input(ctx, node, 0);
  TfLiteTensor* out = bn_output(ctx, node, 0);
  BN_ENSURE(ctx, in->dims->size == 4, "LceBMaxPool2d: input must be 4-D.");
  BN_ENSURE(ctx, in->type == kTfLiteInt32 && out->type == kTfLiteInt32,
            "LceBMaxPool2d: input and output must be int32 (bitpacked).");
  BN_ENSURE(ctx,
            bn_window(p->padding, in->dims->data[1], p->filter_h, p->stride_h, 1, &p->rows) &&
                bn_window(p->padding, in->dims->data[2], p->filter_w, p->stride_w, 1, &p->cols),
            "LceBMaxPool2d: invalid window.");
  return ctx->ResizeTensor(
      ctx, out, bn_shape4(in->dims->data[0], p->rows.out, p->cols.out, in->dims->data[3]));
}

static TfLiteStatus bmaxpool_eval(TfLiteContext* ctx, TfLiteNode* node) {
  const BMaxPool* p = node->user_data;
  const TfLiteTensor* in = bn_input(ctx, node, 0);
  TfLiteTensor* out = bn_output(ctx, node, 0);
  const int batches = in->dims->data[0], in_h = in->dims->data[1], in_w = in->dims->data[2];
  const int words = in->dims->data[3];
  const uint32_t* src = in->data;
  uint32_t* dst = out->data;
  for (int b = 0; b < batches; ++b) {
    for (int oy = 0; oy < p->rows.out; ++oy) {
      const int y0 = oy * p->stride_h - p->rows.pad;
      const int y_lo = y0 < 0 ? 0 : y0;
      const int y_hi = y0 + p->filter_h < in_h ? y0 + p->filter_h : in_h;
      for (int ox = 0; ox < p->cols.out; ++ox) {
        const int x0 = ox * p->stride_w - p->cols.pad;
        const int x_lo = x0 < 0 ? 0 : x0;
        const int x_hi = x0 + p->filter_w < in_w ? x0 + p->filter_w : in_w;
        uint32_t* o = dst + (((size_t)b * p->rows.out + oy) * p->cols.out + ox) * words;
        for (int w = 0; w < words; ++w) o[w] = ~0u;
        /* max(+1, -1) is +1: a bit stays set only if it is set everywhere in the window. */
        for (int y = y_lo; y < y_hi; ++y)
          for (int x = x_lo; x < x_hi; ++x) {
            const uint32_t* i = src + (((size_t)b * in_h + y) * in_w + x) * words;
            for (int w = 0; w < words; ++w) o[w] &= i[w];
          }
      }
    }
  }
  return kTfLiteOk;
}

TfLiteRegistration* bn_register_quantize(void) {
  static TfLiteRegistration r = {.prepare = quantize_prepare, .invoke = quantize_eval,
                                 .custom_name = "LceQuantize", .version = 1};
  return &r;
}

TfLiteRegistration* bn_register_dequantize(void) {
  static TfLiteRegistration r = {.prepare = dequantize_prepare, .invoke = dequantize_eval,
                                 .custom_name = "LceDequantize", .version = 1};
  return &r;
}

TfLiteRegistration* bn_register_bmaxpool(void) {
  static TfLiteRegistration r = {.init = bmaxpool_init, .free = bn_free,
                                 .prepare = bmaxpool_prepare, .invoke = bmaxpool_eval,
                                 .custom_name = "LceBMaxPool2d", .version = 1};
  return &r;
}
