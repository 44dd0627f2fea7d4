/* LceBconv2d: binary 2-D convolution on bitpacked input and filters, with LCE 0.16's semantics.
 *
 * Inputs: 0 input (int32, NHWC with bitpacked channels), 1 filter (int32, [out_c, h, w, words per
 * group]), 2 post_activation_multiplier and 3 post_activation_bias (float, per output channel;
 * float and int8 output), 4 thresholds (int32 per output channel; bitpacked output).
 * Options (FlexBuffers map): channels_in, stride_*, dilation_*_factor, padding, pad_values,
 * fused_activation_function.
 *
 * For every output pixel and channel, accum = sum over taps of popcount(input ^ filter), with
 * taps outside the input reading 0 bits (+1 values, "one padding"). Then
 *   float:     y = float(clamp(accum << 1)) * m + b, m = -mul / scale, b = (bias + K * mul) /
 *              scale + zero_point (scale 1, zero point 0 for float), K = taps * channels per group;
 *   int8:      saturate(round(y));
 *   bitpacked: bit = accum > threshold.
 * SAME padding with pad_values 0 ("zero padding", float output only) adds LCE's cached per-edge
 * correction to the float output afterwards, with the same float operations as LCE.
 *
 * Ungrouped convolutions with a SIMD kernel family run its channel-major kernel (bgemm_cm) on
 * tiles of BN_CM_ROWS output pixels, reading every tap in place through a table of word offsets
 * (no im2col copy); with padding the image is first copied into a zero-bordered buffer, so that
 * every tap is inside. Grouped convolutions, and the scalar families, gather BN_TILE im2col rows
 * (per group) for the row-major kernel (bgemm). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "bconv_output.h"
#include "bgemm.h"
#include "flexbuffer.h"
#include "ops.h"
#include "parallel.h"

/* Below this many binary multiply-accumulates a convolution runs on one thread: waking the
 * workers would cost more than it saves. */
#define BN_PARALLEL_MIN_MACS (1 << 22)

/* At most this many tiles per channel-major task (they share its set-up), and at least this many
 * tasks per thread (load balance). */
#define BN_CM_TASK_TILES 8
#define BN_TASKS_PER_THREAD 4

/* y = x * m + b must round twice, as LCE does: builds compile with -ffp-contract=off. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

typedef struct {
  /* options */
  int32_t stride_h, stride_w, dil_h, dil_w, padding, pad_value, channels_in, activation;
  int options_ok;
  /* shapes, from Prepare */
  int batches, in_h, in_w, in_words, out_c, filter_h, filter_w, groups, group_words;
  BnWindow rows, cols;
  TfLiteType out_type;
  int row_words; /* words of one im2col row: taps * group_words */
  int kp;        /* row_words rounded up to an even count (64-bit steps) */
  int zero_padding;
  int channel_major; /* bgemm_cm on tiles of BN_CM_ROWS pixels (else bgemm on BN_TILE rows) */
  int padded;        /* channel-major with padding: taps read from padded_image */
  int image_h, image_w; /* the image the channel-major rows index: padded, or the input */
  int32_t* offsets;  /* channel-major: row_words word offsets of a pixel's taps in that image */
  uint32_t* padded_image; /* batches x image_h x image_w x in_words, zero outside the input */
  int cm_blocks;     /* output channels in blocks of BN_CM_BLOCK */
  /* constants derived from the filters, set up on the first Eval after Prepare */
  int setup_done;
  uint32_t* filters; /* out_c rows of kp words, or packed for bgemm_cm */
  float* multiplier;
  float* bias;
  BnOutput output;
  float* correction; /* [4][eff_h][eff_w][out_c] */
  int eff_h, eff_w;
  /* per-thread scratch */
  int scratch_threads;
  uint32_t* im2col; /* per thread: BN_TILE rows of kp words (grouped convolutions) */
  int32_t* acc;     /* per thread: BN_TILE x out_c, or BN_CM_ROWS x cm_blocks * BN_CM_BLOCK */
  const char* kernel;
  BnBgemm bgemm;
  BnBgemmCm bgemm_cm;
} BConv;

static void release_setup(BConv* op) {
  free(op->filters);
  free(op->multiplier);
  free(op->bias);
  free(op->correction);
  free(op->im2col);
  free(op->acc);
  free(op->offsets);
  free(op->padded_image);
  op->offsets = NULL;
  op->padded_image = NULL;
  op->filters = NULL;
  op->multiplier = op->bias = op->correction = NULL;
  op->im2col = NULL;
  op->acc = NULL;
  op->scratch_threads = 0;
  op->setup_done = 0;
}

static void* bconv_init(TfLiteContext* ctx, const char* buffer, size_t length) {
  (void)ctx;
  BConv* op = calloc(1, sizeof(BConv));
  if (!op) return NULL;
  const uint8_t* b = (const uint8_t*)buffer;
  op->options_ok = bn_flex_map_int(b, length, "stride_height", &op->stride_h) &&
                   bn_flex_map_int(b, length, "stride_width", &op->stride_w) &&
                   bn_flex_map_int(b, length, "dilation_height_factor", &op->dil_h) &&
                   bn_flex_map_int(b, length, "dilation_width_factor", &op->dil_w) &&
                   bn_flex_map_int(b, length, "padding", &op->padding) &&
                   bn_flex_map_int(b, length, "pad_values", &op->pad_value) &&
                   bn_flex_map_int(b, length, "channels_in", &op->channels_in) &&
                   bn_flex_map_int(b, length, "fused_activation_function", &op->activation);
  op->kernel = bn_bgemm_name();
  op->bgemm = bn_bgemm_by_name(op->kernel);
  op->bgemm_cm = bn_bgemm_cm_by_name(op->kernel);
  return op;
}

static void bconv_free(TfLiteContext* ctx, void* data) {
  (void)ctx;
  if (!data) return;
  release_setup(data);
  free(data);
}

/* The image the channel-major kernel reads and the offsets of a pixel's words in it: the input
 * itself when every tap of every output pixel is inside it, else a zero-bordered copy. */
static int setup_indirection(BConv* op) {
  const int reach_h = (op->rows.out - 1) * op->stride_h + (op->filter_h - 1) * op->dil_h + 1;
  const int reach_w = (op->cols.out - 1) * op->stride_w + (op->filter_w - 1) * op->dil_w + 1;
  op->padded = op->rows.pad > 0 || op->cols.pad > 0 || reach_h > op->in_h || reach_w > op->in_w;
  op->image_h = op->in_h, op->image_w = op->in_w;
  if (op->padded) {
    op->image_h = op->in_h + op->rows.pad > reach_h ? op->in_h + op->rows.pad : reach_h;
    op->image_w = op->in_w + op->cols.pad > reach_w ? op->in_w + op->cols.pad : reach_w;
    op->padded_image = malloc((size_t)op->batches * op->image_h * op->image_w * op->in_words *
                              sizeof(uint32_t));
    if (!op->padded_image) return 0;
  }
  op->offsets = malloc((size_t)op->row_words * sizeof(int32_t));
  if (!op->offsets) return 0;
  int32_t* o = op->offsets;
  for (int fy = 0; fy < op->filter_h; ++fy)
    for (int fx = 0; fx < op->filter_w; ++fx)
      for (int w = 0; w < op->in_words; ++w)
        *o++ = (fy * op->dil_h * op->image_w + fx * op->dil_w) * op->in_words + w;
  return 1;
}

/* Copies the input into the zero-bordered image, its top-left pixel at (rows.pad, cols.pad). */
static void fill_padded_image(const BConv* op, const uint32_t* input) {
  const size_t pixel = (size_t)op->in_words * sizeof(uint32_t);
  const size_t plane = (size_t)op->image_h * op->image_w * op->in_words;
  memset(op->padded_image, 0, (size_t)op->batches * plane * sizeof(uint32_t));
  for (int b = 0; b < op->batches; ++b)
    for (int y = 0; y < op->in_h; ++y)
      memcpy(op->padded_image + b * plane +
                 ((size_t)(y + op->rows.pad) * op->image_w + op->cols.pad) * op->in_words,
             input + (((size_t)b * op->in_h + y) * op->in_w) * op->in_words, op->in_w * pixel);
}

static int is_vector(const TfLiteTensor* t, TfLiteType type, int n) {
  return t->type == type && t->dims->size == 1 && t->dims->data[0] == n && t->data != NULL;
}

static TfLiteStatus bconv_prepare(TfLiteContext* ctx, TfLiteNode* node) {
  BConv* op = node->user_data;
  BN_ENSURE(ctx, op != NULL && op->options_ok,
            "LceBconv2d: the custom options lack a required field.");
  BN_ENSURE(ctx, op->pad_value == 0 || op->pad_value == 1,
            "LceBconv2d: attribute pad_values must be 0 or 1.");
  BN_ENSURE(ctx, node->inputs->size == 5 && node->outputs->size == 1,
            "LceBconv2d: expected 5 inputs and 1 output.");
  release_setup(op);
  const TfLiteTensor* input = bn_input(ctx, node, 0);
  const TfLiteTensor* filter = bn_input(ctx, node, 1);
  TfLiteTensor* output = bn_output(ctx, node, 0);
  BN_ENSURE(ctx, input->dims->size == 4 && filter->dims->size == 4,
            "LceBconv2d: input and filter must be 4-D.");
  BN_ENSURE(ctx, input->type == kTfLiteInt32 && filter->type == kTfLiteInt32,
            "LceBconv2d: input and filter must be int32 (bitpacked).");
  BN_ENSURE(ctx,
            output->type == kTfLiteInt32 || output->type == kTfLiteInt8 ||
                output->type == kTfLiteFloat32,
            "LceBconv2d: supported output types are int8, int32 and float32.");
  BN_ENSURE(ctx, op->channels_in > 0 && input->dims->data[3] == bn_packed_size(op->channels_in),
            "LceBconv2d: the input has %d words per pixel, channels_in is %d.",
            input->dims->data[3], op->channels_in);
  op->batches = input->dims->data[0];
  op->in_h = input->dims->data[1];
  op->in_w = input->dims->data[2];
  op->in_words = input->dims->data[3];
  op->out_c = filter->dims->data[0];
  op->filter_h = filter->dims->data[1];
  op->filter_w = filter->dims->data[2];
  op->group_words = filter->dims->data[3];
  op->out_type = output->type;
  if (op->group_words == op->in_words) {
    op->groups = 1;
  } else {
    BN_ENSURE(ctx, op->group_words > 0 && op->in_words % op->group_words == 0,
              "LceBconv2d: filter depth does not divide the input depth.");
    op->groups = op->in_words / op->group_words;
    BN_ENSURE(ctx, (op->channels_in / op->groups) % BN_WORD_BITS == 0,
              "LceBconv2d: grouped convolutions need a multiple of 32 channels per group.");
    BN_ENSURE(ctx, op->out_c % op->groups == 0,
              "LceBconv2d: output channels are not a multiple of the groups.");
  }
  op->zero_padding = op->padding == kPaddingSame && op->pad_value == 0;
  BN_ENSURE(ctx, !op->zero_padding || (output->type == kTfLiteFloat32 && op->activation == kActNone),
            "LceBconv2d: zero padding is only supported with float output and no fused "
            "activation function.");
  BN_ENSURE(ctx,
            bn_window(op->padding, op->in_h, op->filter_h, op->stride_h, op->dil_h, &op->rows) &&
                bn_window(op->padding, op->in_w, op->filter_w, op->stride_w, op->dil_w,
                          &op->cols),
            "LceBconv2d: invalid stride, dilation, padding or filter size.");
  if (output->type == kTfLiteInt32) {
    BN_ENSURE(ctx, is_vector(bn_input(ctx, node, 4), kTfLiteInt32, op->out_c),
              "LceBconv2d: bitpacked output needs int32 thresholds, one per output channel.");
  } else {
    BN_ENSURE(ctx,
              is_vector(bn_input(ctx, node, 2), kTfLiteFloat32, op->out_c) &&
                  is_vector(bn_input(ctx, node, 3), kTfLiteFloat32, op->out_c),
              "LceBconv2d: float/int8 output needs a float multiplier and bias per channel.");
  }
  if (output->type == kTfLiteInt8)
    BN_ENSURE(ctx, output->params.scale > 0.0f, "LceBconv2d: int8 output without a scale.");
  op->row_words = op->filter_h * op->filter_w * op->group_words;
  op->kp = (op->row_words + 1) & ~1;
  op->channel_major = op->groups == 1 && op->bgemm_cm != NULL;
  op->cm_blocks = (op->out_c + BN_CM_BLOCK - 1) / BN_CM_BLOCK;
  if (op->channel_major)
    BN_ENSURE(ctx, setup_indirection(op), "LceBconv2d: out of memory.");
  const int depth = output->type == kTfLiteInt32 ? bn_packed_size(op->out_c) : op->out_c;
  return ctx->ResizeTensor(ctx, output,
                           bn_shape4(op->batches, op->rows.out, op->cols.out, depth));
}

static void activation_range(int activation, int32_t* lo, int32_t* hi) {
  *lo = INT32_MIN;
  *hi = INT32_MAX;
  if (activation == kActRelu) {
    *lo = 0;
  } else if (activation == kActRelu6) {
    *lo = 0;
    *hi = 6;
  } else if (activation == kActReluN1To1) {
    *lo = -1;
    *hi = 1;
  }
}

static int popcount32(uint32_t x) { return __builtin_popcount(x); }

/* LCE's zero-padding correction cache: for each of 4 edge cases and each overflow (y, x) of the
 * dilated filter, -multiplier times the sum of (channels - 2 * popcount(filter tap)) over the
 * taps that fall outside the input. */
static int setup_correction(BConv* op, const uint32_t* filter, const float* post_mul) {
  const int eff_h = (op->filter_h - 1) * op->dil_h + 1;
  const int eff_w = (op->filter_w - 1) * op->dil_w + 1;
  const int channels = op->channels_in / op->groups;
  const size_t plane = (size_t)eff_h * eff_w * op->out_c;
  op->eff_h = eff_h;
  op->eff_w = eff_w;
  op->correction = malloc(4 * plane * sizeof(float));
  if (!op->correction) return 0;
  for (int y = 0; y < eff_h; ++y)
    for (int x = 0; x < eff_w; ++x)
      for (int c = 0; c < op->out_c; ++c) {
        int sums[4] = {0, 0, 0, 0};
        for (int fy = 0; fy < op->filter_h; ++fy)
          for (int fx = 0; fx < op->filter_w; ++fx) {
            const uint32_t* tap =
                filter + (((size_t)c * op->filter_h + fy) * op->filter_w + fx) * op->group_words;
            int ones = 0;
            for (int w = 0; w < op->group_words; ++w) ones += popcount32(tap[w]);
            const int value = channels - 2 * ones;
            const int ey = op->dil_h * fy, ex = op->dil_w * fx;
            const int above = ey < y, below = eff_h - ey <= y;
            const int left = ex < x, right = eff_w - ex <= x;
            if (above || left) sums[0] += value;
            if (above || right) sums[1] += value;
            if (below || left) sums[2] += value;
            if (below || right) sums[3] += value;
          }
        const float negated = -1.0f * post_mul[c];
        for (int d = 0; d < 4; ++d)
          op->correction[d * plane + ((size_t)y * eff_w + x) * op->out_c + c] =
              negated * (float)sums[d];
      }
  return 1;
}

/* The cache entry LCE adds to output pixel (oy, ox), or NULL: its four edge cases, including the
 * pixels it leaves uncorrected (filters overhanging both sides of a tiny input). */
static const float* correction_for(const BConv* op, int oy, int ox) {
  const int left_offset = ((op->cols.out - 1) * op->stride_w + op->eff_w - op->in_w) / 2;
  const int top_offset = ((op->rows.out - 1) * op->stride_h + op->eff_h - op->in_h) / 2;
  const int top = top_offset - oy * op->stride_h;
  const int bottom = -top - op->in_h + op->eff_h;
  const int left = left_offset - ox * op->stride_w;
  const int right = -left - op->in_w + op->eff_w;
  if (left <= 0 && right <= 0 && top <= 0 && bottom <= 0) return NULL;
  int edge, cx, cy;
  if (right <= 0 && top > 0 && bottom < 0) {
    edge = 0, cx = left > 0 ? left : 0, cy = top;
  } else if (left < 0 && right > 0 && bottom <= 0) {
    edge = 1, cx = right, cy = top > 0 ? top : 0;
  } else if (left > 0 && right < 0 && top <= 0) {
    edge = 2, cx = left, cy = bottom > 0 ? bottom : 0;
  } else if (left <= 0 && top < 0 && bottom > 0) {
    edge = 3, cx = right > 0 ? right : 0, cy = bottom;
  } else {
    return NULL;
  }
  const size_t plane = (size_t)op->eff_h * op->eff_w * op->out_c;
  return op->correction + edge * plane + ((size_t)cy * op->eff_w + cx) * op->out_c;
}

/* The filters as the kernel reads them: rows of kp words (zero-padded), or for bgemm_cm blocks of
 * BN_CM_BLOCK channels, word-major (channels past out_c zero). */
static int setup_filters(BConv* op, const uint32_t* fdata) {
  const int k = op->row_words;
  if (op->channel_major) {
    op->filters = calloc((size_t)op->cm_blocks * k * BN_CM_BLOCK, sizeof(uint32_t));
    if (!op->filters) return 0;
    for (int c = 0; c < op->out_c; ++c)
      for (int w = 0; w < k; ++w)
        op->filters[((size_t)(c / BN_CM_BLOCK) * k + w) * BN_CM_BLOCK + c % BN_CM_BLOCK] =
            fdata[(size_t)c * k + w];
    return 1;
  }
  op->filters = calloc((size_t)op->out_c * op->kp, sizeof(uint32_t));
  if (!op->filters) return 0;
  for (int c = 0; c < op->out_c; ++c)
    memcpy(op->filters + (size_t)c * op->kp, fdata + (size_t)c * k, (size_t)k * sizeof(uint32_t));
  return 1;
}

static int setup(TfLiteContext* ctx, TfLiteNode* node, BConv* op) {
  const TfLiteTensor* filter = bn_input(ctx, node, 1);
  const uint32_t* fdata = filter->data;
  if (!setup_filters(op, fdata)) return 0;
  BnOutput* o = &op->output;
  o->channels = op->out_c;
  if (op->out_type == kTfLiteInt32) {
    o->threshold = bn_input(ctx, node, 4)->data;
    bn_output_select(o, BN_OUT_BITS, op->kernel);
  } else {
    const TfLiteTensor* output = bn_output(ctx, node, 0);
    const float* post_mul = bn_input(ctx, node, 2)->data;
    const float* post_bias = bn_input(ctx, node, 3)->data;
    const int32_t taps = op->filter_h * op->filter_w * (op->channels_in / op->groups);
    const double scale = op->out_type == kTfLiteInt8 ? output->params.scale : 1.0;
    const double zero_point = op->out_type == kTfLiteInt8 ? output->params.zero_point : 0.0;
    op->multiplier = malloc((size_t)op->out_c * sizeof(float));
    op->bias = malloc((size_t)op->out_c * sizeof(float));
    if (!op->multiplier || !op->bias) return 0;
    for (int c = 0; c < op->out_c; ++c) {
      const double m = post_mul[c], b = post_bias[c];
      op->multiplier[c] = (float)(-1 * m / scale);
      op->bias[c] = (float)((b + (double)taps * m) / scale + zero_point);
    }
    int32_t lo, hi;
    activation_range(op->activation, &lo, &hi);
    if (lo < -taps) lo = -taps;
    if (hi > taps) hi = taps;
    o->clamp_min = -1 * hi + taps;
    o->clamp_max = -1 * lo + taps;
    /* sums count every bit of the rows, padding bits of a last partial word included */
    o->clamp = !(o->clamp_min <= 0 && (int64_t)o->clamp_max >= 2 * 32 * (int64_t)op->row_words);
    o->multiplier = op->multiplier;
    o->bias = op->bias;
    bn_output_select(o, op->out_type == kTfLiteInt8 ? BN_OUT_INT8 : BN_OUT_FLOAT, op->kernel);
    if (op->zero_padding && !setup_correction(op, fdata, post_mul)) return 0;
  }
  op->setup_done = 1;
  return 1;
}

static size_t rows_per_thread(const BConv* op) {
  return op->channel_major ? 1 : (size_t)BN_TILE * op->kp; /* channel-major: no im2col */
}

static size_t sums_per_thread(const BConv* op) {
  return op->channel_major ? (size_t)BN_CM_ROWS * op->cm_blocks * BN_CM_BLOCK
                           : (size_t)BN_TILE * op->out_c;
}

static int ensure_scratch(BConv* op, int threads) {
  if (op->scratch_threads >= threads) return 1;
  free(op->im2col);
  free(op->acc);
  op->im2col = malloc((size_t)threads * rows_per_thread(op) * sizeof(uint32_t));
  op->acc = malloc((size_t)threads * sums_per_thread(op) * sizeof(int32_t));
  op->scratch_threads = op->im2col && op->acc ? threads : 0;
  return op->scratch_threads > 0;
}

/* Copies (or zeroes, if src is NULL) `words` words; small counts as inline 64-bit and 32-bit
 * moves, since most rows are a few words per tap. */
static inline void copy_words(uint32_t* dst, const uint32_t* src, size_t words) {
  if (words <= 8) {
    size_t w = 0;
    for (; w + 2 <= words; w += 2) {
      uint64_t v = 0;
      if (src) memcpy(&v, src + w, sizeof(v));
      memcpy(dst + w, &v, sizeof(v));
    }
    if (w < words) dst[w] = src ? src[w] : 0u;
  } else if (src) {
    memcpy(dst, src, words * sizeof(uint32_t));
  } else {
    memset(dst, 0, words * sizeof(uint32_t));
  }
}

/* The im2col row of output pixel (oy, ox) for group g: the group's words of every tap, zeros
 * outside the input (row_words words). */
static void gather_row(const BConv* op, const uint32_t* image, int oy, int ox, int g,
                       uint32_t* row) {
  const int y0 = oy * op->stride_h - op->rows.pad;
  const int x0 = ox * op->stride_w - op->cols.pad;
  const size_t words = (size_t)op->group_words;
  uint32_t* dst = row;
  for (int fy = 0; fy < op->filter_h; ++fy) {
    const int y = y0 + fy * op->dil_h;
    const int row_inside = y >= 0 && y < op->in_h;
    for (int fx = 0; fx < op->filter_w; ++fx, dst += words) {
      const int x = x0 + fx * op->dil_w;
      const int inside = row_inside && x >= 0 && x < op->in_w;
      copy_words(dst, inside ? image + ((size_t)y * op->in_w + x) * op->in_words + g * words : NULL,
                 words);
    }
  }
}

typedef struct {
  BConv* op;
  const uint32_t* input;
  char* output;
  int pixels, task_pixels, tasks, out_words; /* output pixels and tasks per image */
  size_t out_elem;
} EvalJob;

/* The output values of `count` consecutive pixels of image b from their sums (pixel i's at
 * sums + i * ldsums), the first pixel p0, with LCE's zero-padding correction. */
static void output_pixels(const BConv* op, const EvalJob* job, const int32_t* sums, int ldsums,
                          int count, int b, int p0) {
  const size_t pixel_bytes = (size_t)job->out_words * job->out_elem;
  char* out = job->output + ((size_t)b * job->pixels + p0) * pixel_bytes;
  op->output.pixels(&op->output, sums, ldsums, count, out);
  if (!op->zero_padding) return;
  for (int i = 0; i < count; ++i) {
    const int p = p0 + i;
    const float* correction = correction_for(op, p / op->cols.out, p % op->cols.out);
    float* dst = (float*)(out + i * pixel_bytes);
    if (correction)
      for (int c = 0; c < op->out_c; ++c) dst[c] += correction[c];
  }
}

/* One tile: BN_TILE output pixels of one image, all output channels. */
static void eval_tile(void* context, int t, int thread) {
  const EvalJob* job = context;
  const BConv* op = job->op;
  uint32_t* rows = op->im2col + (size_t)thread * rows_per_thread(op);
  int32_t* acc = op->acc + (size_t)thread * sums_per_thread(op);
  const int group_out = op->out_c / op->groups;
  const int b = t / job->tasks;
  const int p0 = (t % job->tasks) * BN_TILE;
  const int count = job->pixels - p0 < BN_TILE ? job->pixels - p0 : BN_TILE;
  const uint32_t* image = job->input + (size_t)b * op->in_h * op->in_w * op->in_words;
  for (int g = 0; g < op->groups; ++g) {
    for (int i = 0; i < BN_TILE; ++i) {
      const int p = p0 + (i < count ? i : 0); /* a short last tile repeats its first pixel */
      uint32_t* row = rows + (size_t)i * op->kp;
      gather_row(op, image, p / op->cols.out, p % op->cols.out, g, row);
      if (op->kp > op->row_words) row[op->row_words] = 0;
    }
    op->bgemm(rows, op->filters + (size_t)g * group_out * op->kp, group_out, op->kp,
              acc + g * group_out, op->out_c);
  }
  output_pixels(op, job, acc, op->out_c, count, b, p0);
}

/* One channel-major task: task_pixels output pixels of one image (fewer at its end) in tiles of
 * BN_CM_ROWS, all output channels. */
static void eval_task_cm(void* context, int t, int thread) {
  const EvalJob* job = context;
  const BConv* op = job->op;
  const int ldacc = op->cm_blocks * BN_CM_BLOCK;
  int32_t* acc = op->acc + (size_t)thread * sums_per_thread(op);
  const int b = t / job->tasks;
  const int first = (t % job->tasks) * job->task_pixels;
  const int end = job->pixels - first < job->task_pixels ? job->pixels : first + job->task_pixels;
  const size_t plane = (size_t)op->image_h * op->image_w * op->in_words;
  const uint32_t* image = (op->padded ? op->padded_image : job->input) + b * plane;
  int oy = first / op->cols.out, ox = first % op->cols.out;
  for (int p0 = first; p0 < end; p0 += BN_CM_ROWS) {
    const int count = end - p0 < BN_CM_ROWS ? end - p0 : BN_CM_ROWS;
    const uint32_t* rows[BN_CM_ROWS];
    const uint32_t* row = image;
    for (int i = 0; i < BN_CM_ROWS; ++i) {
      if (i < count) { /* a short last tile repeats its last pixel */
        row = image + ((size_t)oy * op->stride_h * op->image_w + (size_t)ox * op->stride_w) *
                          op->in_words;
        if (++ox == op->cols.out) ox = 0, ++oy;
      }
      rows[i] = row;
    }
    op->bgemm_cm(rows, op->offsets, op->row_words, op->filters, op->cm_blocks, acc, ldacc);
    output_pixels(op, job, acc, ldacc, count, b, p0);
  }
}

static TfLiteStatus bconv_eval(TfLiteContext* ctx, TfLiteNode* node) {
  BConv* op = node->user_data;
  BN_ENSURE(ctx, op->setup_done || setup(ctx, node, op), "LceBconv2d: out of memory.");
  TfLiteTensor* output = bn_output(ctx, node, 0);
  EvalJob job = {op,
                 bn_input(ctx, node, 0)->data,
                 output->data,
                 op->rows.out * op->cols.out,
                 BN_TILE,
                 0,
                 output->dims->data[3],
                 op->out_type == kTfLiteInt8 ? 1 : 4};
  const double macs = (double)op->batches * job.pixels * op->out_c * op->row_words * 32.0;
  int threads = ctx->recommended_num_threads > 0 ? ctx->recommended_num_threads : 1;
  if (macs < BN_PARALLEL_MIN_MACS) threads = 1;
  if (op->channel_major) {
    const int tiles = op->batches * ((job.pixels + BN_CM_ROWS - 1) / BN_CM_ROWS);
    int per_task = tiles / (BN_TASKS_PER_THREAD * threads);
    per_task = per_task < 1 ? 1 : (per_task > BN_CM_TASK_TILES ? BN_CM_TASK_TILES : per_task);
    job.task_pixels = per_task * BN_CM_ROWS;
  }
  job.tasks = (job.pixels + job.task_pixels - 1) / job.task_pixels;
  const int total = op->batches * job.tasks;
  BN_ENSURE(ctx, ensure_scratch(op, threads), "LceBconv2d: out of memory.");
  if (op->channel_major && op->padded) fill_padded_image(op, job.input);
  bn_parallel_for(total, threads, op->channel_major ? eval_task_cm : eval_tile, &job);
  return kTfLiteOk;
}

TfLiteRegistration* bn_register_bconv2d(void) {
  static TfLiteRegistration r = {.init = bconv_init, .free = bconv_free,
                                 .prepare = bconv_prepare, .invoke = bconv_eval,
                                 .custom_name = "LceBconv2d", .version = 1};
  return &r;
}
