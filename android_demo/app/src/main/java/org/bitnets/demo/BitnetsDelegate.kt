package org.bitnets.demo

import org.tensorflow.lite.Delegate

/**
 * bitnets-tf's kernels for larq-compute-engine's operators (`LceQuantize`, `LceBconv2d`,
 * `LceBMaxPool2d`, `LceDequantize`) as a TFLite delegate, so that stock TFLite runs `lce` models.
 *
 * The native library `libbitnets_lce.so` is built by `native/CMakeLists.txt` from the same C
 * sources `pip install bitnets-tf` compiles (`bitnets_tf/runtime/csrc`). The delegate claims
 * exactly the `Lce*` nodes, which the interpreter keeps as unresolved custom operators until
 * then; the float operators stay with TFLite's default XNNPACK delegate. Add it with
 * `Interpreter.Options.addDelegate` and close it after the interpreter that uses it.
 */
class BitnetsDelegate : Delegate {
    private var handle: Long = nativeCreate()

    init {
        check(handle != 0L) { "Could not create the bitnets delegate (out of memory)." }
    }

    override fun getNativeHandle(): Long {
        check(handle != 0L) { "The bitnets delegate is closed." }
        return handle
    }

    override fun close() {
        if (handle != 0L) {
            nativeDelete(handle)
            handle = 0L
        }
    }

    private companion object {
        init {
            System.loadLibrary("bitnets_lce")
        }

        /** `TfLiteDelegate*` from `bitnets_delegate_create()`, or 0. */
        @JvmStatic
        external fun nativeCreate(): Long

        @JvmStatic
        external fun nativeDelete(handle: Long)
    }
}
