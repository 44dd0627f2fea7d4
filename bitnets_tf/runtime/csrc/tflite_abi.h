/* The parts of TensorFlow Lite's C kernel interface (tensorflow/lite/core/c/common.h) that the
 * bitnets kernels use, declared here because neither the tensorflow nor the ai-edge-litert wheel
 * ships the headers. Field order and types follow the "semi-ABI stable" layout of TFLite 2.x
 * (new fields are only ever appended); bitnets_abi_check() lets the loader compare the sizes. */
#ifndef BITNETS_TFLITE_ABI_H_
#define BITNETS_TFLITE_ABI_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { kTfLiteOk = 0, kTfLiteError = 1 } TfLiteStatus;

typedef enum {
  kTfLiteNoType = 0,
  kTfLiteFloat32 = 1,
  kTfLiteInt32 = 2,
  kTfLiteUInt8 = 3,
  kTfLiteInt64 = 4,
  kTfLiteString = 5,
  kTfLiteBool = 6,
  kTfLiteInt16 = 7,
  kTfLiteComplex64 = 8,
  kTfLiteInt8 = 9,
} TfLiteType;

typedef struct TfLiteIntArray {
  int size;
  int data[];
} TfLiteIntArray;

typedef struct TfLiteQuantizationParams {
  float scale;
  int32_t zero_point;
} TfLiteQuantizationParams;

typedef struct TfLiteQuantization {
  int type;
  void* params;
} TfLiteQuantization;

typedef struct TfLiteTensor {
  TfLiteType type;
  void* data;
  TfLiteIntArray* dims;
  TfLiteQuantizationParams params;
  int allocation_type;
  size_t bytes;
  const void* allocation;
  const char* name;
  void* delegate;
  int buffer_handle;
  bool data_is_stale;
  bool is_variable;
  TfLiteQuantization quantization;
  void* sparsity;
  const TfLiteIntArray* dims_signature;
} TfLiteTensor;

typedef struct TfLiteNode {
  TfLiteIntArray* inputs;
  TfLiteIntArray* outputs;
  TfLiteIntArray* intermediates;
  TfLiteIntArray* temporaries;
  void* user_data;
  void* builtin_data;
  const void* custom_initial_data;
  int custom_initial_data_size;
  void* delegate;
  bool might_have_side_effect;
} TfLiteNode;

struct TfLiteRegistration;
struct TfLiteRegistrationExact;
struct TfLiteDelegate;

typedef struct TfLiteContext {
  size_t tensors_size;
  TfLiteStatus (*GetExecutionPlan)(struct TfLiteContext* context, TfLiteIntArray** plan);
  TfLiteTensor* tensors;
  void* impl_;
  TfLiteStatus (*ResizeTensor)(struct TfLiteContext*, TfLiteTensor* tensor,
                               TfLiteIntArray* new_size);
  void (*ReportError)(struct TfLiteContext*, const char* msg, ...);
  TfLiteStatus (*AddTensors)(struct TfLiteContext*, int tensors_to_add, int* first_new);
  TfLiteStatus (*GetNodeAndRegistration)(struct TfLiteContext*, int node_index, TfLiteNode** node,
                                         struct TfLiteRegistration** registration);
  /* Takes the registration by value: a TfLiteRegistrationExact (see below). */
  TfLiteStatus (*ReplaceNodeSubsetsWithDelegateKernels)(struct TfLiteContext*,
                                                        struct TfLiteRegistrationExact registration,
                                                        const TfLiteIntArray* nodes_to_replace,
                                                        struct TfLiteDelegate* delegate);
  int recommended_num_threads;
  /* Later fields are not used. */
} TfLiteContext;

/* The fields of TfLiteRegistration, in TFLite's order. */
#define BN_TFLITE_REGISTRATION_FIELDS                                                     \
  void* (*init)(TfLiteContext * context, const char* buffer, size_t length);              \
  void (*free)(TfLiteContext * context, void* buffer);                                    \
  TfLiteStatus (*prepare)(TfLiteContext * context, TfLiteNode * node);                    \
  TfLiteStatus (*invoke)(TfLiteContext * context, TfLiteNode * node);                     \
  const char* (*profiling_string)(const TfLiteContext* context, const TfLiteNode* node); \
  int32_t builtin_code;                                                                   \
  const char* custom_name;                                                                \
  int version;                                                                            \
  void* registration_external;                                                            \
  void* async_kernel;                                                                     \
  uint64_t inplace_operator;

/* The operators' registrations, which the op resolver copies by pointer. */
typedef struct TfLiteRegistration {
  BN_TFLITE_REGISTRATION_FIELDS
  /* Zeroed room for fields a newer runtime may append and copy. */
  uint64_t reserved[8];
} TfLiteRegistration;

/* TfLiteRegistration exactly as TFLite lays it out, for the by-value argument of
 * ReplaceNodeSubsetsWithDelegateKernels (on 32-bit ARM its size decides where the next
 * arguments are read from). */
typedef struct TfLiteRegistrationExact {
  BN_TFLITE_REGISTRATION_FIELDS
} TfLiteRegistrationExact;

enum { kTfLiteBuiltinCustom = 32 }; /* tflite::BuiltinOperator_CUSTOM */

/* A delegate (tensorflow/lite/core/c/common.h): Prepare claims nodes with
 * ReplaceNodeSubsetsWithDelegateKernels; opaque_delegate_builder must be NULL for this
 * (non-opaque) interface. */
enum { kTfLiteDelegateFlagsAllowDynamicTensors = 1 };
typedef struct TfLiteDelegate {
  void* data_;
  TfLiteStatus (*Prepare)(TfLiteContext* context, struct TfLiteDelegate* delegate);
  void* CopyFromBufferHandle;
  void* CopyToBufferHandle;
  void* FreeBufferHandle;
  int64_t flags;
  void* opaque_delegate_builder;
} TfLiteDelegate;

/* What a delegate kernel's init receives as its buffer: the nodes it replaces. */
typedef struct TfLiteDelegateParams {
  struct TfLiteDelegate* delegate;
  TfLiteIntArray* nodes_to_replace;
  TfLiteIntArray* input_tensors;
  TfLiteIntArray* output_tensors;
} TfLiteDelegateParams;

/* The schema's (flatbuffer) enums used in the custom options. */
enum { kPaddingSame = 0, kPaddingValid = 1 }; /* tflite::Padding in the schema */
enum {
  kActNone = 0,
  kActRelu = 1,
  kActReluN1To1 = 2,
  kActRelu6 = 3,
}; /* tflite::ActivationFunctionType in the schema */

static inline TfLiteTensor* bn_input(TfLiteContext* ctx, const TfLiteNode* node, int i) {
  return &ctx->tensors[node->inputs->data[i]];
}
static inline TfLiteTensor* bn_output(TfLiteContext* ctx, const TfLiteNode* node, int i) {
  return &ctx->tensors[node->outputs->data[i]];
}

#define BN_ENSURE(ctx, cond, ...)      \
  do {                                 \
    if (!(cond)) {                     \
      (ctx)->ReportError((ctx), __VA_ARGS__); \
      return kTfLiteError;             \
    }                                  \
  } while (0)

#endif /* BITNETS_TFLITE_ABI_H_ */
