/* JNI functions of org.bitnets.demo.BitnetsDelegate (app/src/main/java/.../BitnetsDelegate.kt):
 * create and delete the bitnets TfLiteDelegate (bitnets_tf/runtime/csrc/delegate.c), whose
 * address TFLite's Java Interpreter takes through org.tensorflow.lite.Delegate.getNativeHandle(). */
#include <jni.h>
#include <stdint.h>

#include "bitnets_lce.h"

JNIEXPORT jlong JNICALL Java_org_bitnets_demo_BitnetsDelegate_nativeCreate(JNIEnv* env,
                                                                            jclass cls) {
  (void)env;
  (void)cls;
  return (jlong)(intptr_t)bitnets_delegate_create(); /* 0 if out of memory */
}

JNIEXPORT void JNICALL Java_org_bitnets_demo_BitnetsDelegate_nativeDelete(JNIEnv* env, jclass cls,
                                                                          jlong handle) {
  (void)env;
  (void)cls;
  bitnets_delegate_delete((struct TfLiteDelegate*)(intptr_t)handle);
}
