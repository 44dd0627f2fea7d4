/* A TfLiteDelegate that runs larq-compute-engine's operators (LceQuantize, LceDequantize,
 * LceBconv2d, LceBMaxPool2d) with the bitnets kernels, for interpreters that offer no
 * custom-operator hook but take delegates: ai-edge-litert's Python interpreter
 * (`load_delegate`, through the external-delegate entry points below), `tf.lite`'s, and TFLite's
 * Java API (`Interpreter.Options.addDelegate`, through a JNI function returning
 * bitnets_delegate_create()).
 *
 * The interpreter builder keeps a custom operator it cannot resolve as a placeholder node that a
 * delegate may claim later. Prepare claims every node whose custom name is one of the four
 * operators, one node per delegate kernel: a delegate node then has exactly the original node's
 * tensors, so the interpreter plans their memory as for a registered operator. The delegate
 * kernel runs the operator's own init / prepare / invoke / free on a copy of the original node
 * (its inputs, outputs and FlexBuffers options); the operators read the thread count from the
 * same TfLiteContext. The delegate declares that it allows dynamic tensors, which keeps the
 * interpreter from preparing the placeholders before delegation; the default XNNPACK delegate,
 * applied when tensors are first allocated, then takes the float operators. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bitnets_lce.h"
#include "ops.h"

/* One delegated operator: its registration and the copy of the original node it runs on. */
typedef struct {
  const TfLiteRegistration* op;
  TfLiteNode node;
} BnDelegated;

/* The bitnets registration for a node's registration, or NULL if it is not one of ours. */
static const TfLiteRegistration* claimable(const TfLiteRegistration* registration) {
  if (registration->builtin_code != kTfLiteBuiltinCustom || !registration->custom_name)
    return NULL;
  const TfLiteRegistration* op;
  for (int i = 0; (op = bitnets_registration(i)) != NULL; ++i)
    if (strcmp(op->custom_name, registration->custom_name) == 0) return op;
  return NULL;
}

static TfLiteIntArray* int_array(int size) {
  TfLiteIntArray* array = malloc(sizeof(TfLiteIntArray) + (size_t)size * sizeof(int));
  if (array) array->size = size;
  return array;
}

static void release(TfLiteContext* ctx, BnDelegated* d) {
  if (d->op && d->op->free && d->node.user_data) d->op->free(ctx, d->node.user_data);
  free(d->node.inputs);
  free(d->node.outputs);
  free(d->node.intermediates);
  free(d->node.temporaries);
  free(d);
}

/* `buffer` is the TfLiteDelegateParams of the delegate node; returns NULL on failure, which
 * kernel_prepare reports. */
static void* kernel_init(TfLiteContext* ctx, const char* buffer, size_t length) {
  (void)length;
  const TfLiteDelegateParams* params = (const TfLiteDelegateParams*)buffer;
  TfLiteNode* original;
  TfLiteRegistration* registration;
  if (!params || params->nodes_to_replace->size != 1 ||
      ctx->GetNodeAndRegistration(ctx, params->nodes_to_replace->data[0], &original,
                                  &registration) != kTfLiteOk)
    return NULL;
  BnDelegated* d = calloc(1, sizeof(BnDelegated));
  if (!d) return NULL;
  d->op = claimable(registration);
  d->node.inputs = bn_shape_copy(original->inputs);
  d->node.outputs = bn_shape_copy(original->outputs);
  d->node.intermediates = int_array(0);
  d->node.temporaries = int_array(0);
  d->node.custom_initial_data = original->custom_initial_data; /* the model's flatbuffer */
  d->node.custom_initial_data_size = original->custom_initial_data_size;
  if (!d->op || !d->node.inputs || !d->node.outputs || !d->node.intermediates ||
      !d->node.temporaries) {
    release(ctx, d);
    return NULL;
  }
  if (d->op->init) {
    d->node.user_data = d->op->init(ctx, original->custom_initial_data,
                                    (size_t)original->custom_initial_data_size);
    if (!d->node.user_data) {
      release(ctx, d);
      return NULL;
    }
  }
  return d;
}

static void kernel_free(TfLiteContext* ctx, void* buffer) {
  if (buffer) release(ctx, buffer);
}

static TfLiteStatus kernel_prepare(TfLiteContext* ctx, TfLiteNode* node) {
  BnDelegated* d = node->user_data;
  BN_ENSURE(ctx, d != NULL,
            "bitnets delegate: could not set up the operator (out of memory or not one node).");
  return d->op->prepare ? d->op->prepare(ctx, &d->node) : kTfLiteOk;
}

static TfLiteStatus kernel_invoke(TfLiteContext* ctx, TfLiteNode* node) {
  BnDelegated* d = node->user_data;
  return d->op->invoke(ctx, &d->node);
}

static TfLiteStatus delegate_prepare(TfLiteContext* ctx, TfLiteDelegate* delegate) {
  static const TfLiteRegistrationExact kernel = {
      .init = kernel_init,
      .free = kernel_free,
      .prepare = kernel_prepare,
      .invoke = kernel_invoke,
      .custom_name = "BitnetsLceDelegate",
      .version = 1,
  };
  TfLiteIntArray* plan;
  if (ctx->GetExecutionPlan(ctx, &plan) != kTfLiteOk) return kTfLiteError;
  /* The plan changes with every replacement: collect the nodes first. */
  TfLiteIntArray* claimed = int_array(plan->size);
  TfLiteIntArray* one = int_array(1);
  TfLiteStatus status = claimed && one ? kTfLiteOk : kTfLiteError;
  int count = 0;
  for (int i = 0; status == kTfLiteOk && i < plan->size; ++i) {
    TfLiteNode* node;
    TfLiteRegistration* registration;
    status = ctx->GetNodeAndRegistration(ctx, plan->data[i], &node, &registration);
    if (status == kTfLiteOk && claimable(registration)) claimed->data[count++] = plan->data[i];
  }
  for (int i = 0; status == kTfLiteOk && i < count; ++i) {
    one->data[0] = claimed->data[i];
    status = ctx->ReplaceNodeSubsetsWithDelegateKernels(ctx, kernel, one, delegate);
  }
  free(claimed);
  free(one);
  return status;
}

TfLiteDelegate* bitnets_delegate_create(void) {
  TfLiteDelegate* delegate = calloc(1, sizeof(TfLiteDelegate));
  if (!delegate) return NULL;
  delegate->Prepare = delegate_prepare;
  delegate->flags = kTfLiteDelegateFlagsAllowDynamicTensors;
  return delegate;
}

void bitnets_delegate_delete(TfLiteDelegate* delegate) { free(delegate); }

/* TFLite's external-delegate interface (delegates/external/external_delegate_interface.h), what
 * `load_delegate(path)` of ai-edge-litert, tflite-runtime and tf.lite calls. */
__attribute__((visibility("default"))) TfLiteDelegate* tflite_plugin_create_delegate(
    const char* const* keys, const char* const* values, size_t count,
    void (*report_error)(const char*)) {
  (void)values;
  if (count > 0) {
    if (report_error) {
      char message[256];
      snprintf(message, sizeof(message),
               "The bitnets delegate takes no options (got '%s'); the operators use the "
               "interpreter's num_threads.",
               keys && keys[0] ? keys[0] : "?");
      report_error(message);
    }
    return NULL;
  }
  TfLiteDelegate* delegate = bitnets_delegate_create();
  if (!delegate && report_error) report_error("The bitnets delegate: out of memory.");
  return delegate;
}

__attribute__((visibility("default"))) void tflite_plugin_destroy_delegate(
    TfLiteDelegate* delegate) {
  bitnets_delegate_delete(delegate);
}
