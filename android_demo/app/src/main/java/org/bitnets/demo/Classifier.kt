package org.bitnets.demo

import android.graphics.Bitmap
import java.io.Closeable
import java.nio.ByteBuffer
import java.nio.ByteOrder
import org.bitnets.core.ImagePreprocessor
import org.bitnets.core.LatencyStats
import org.bitnets.core.ModelMetadata
import org.bitnets.core.Prediction
import org.bitnets.core.TfliteMetadataReader
import org.bitnets.core.TopK
import org.tensorflow.lite.DataType
import org.tensorflow.lite.Interpreter
import org.tensorflow.lite.Tensor

/** Top-k classes of one image and the interpreter's time over the timed runs. */
class Classification(val predictions: List<Prediction>, val latency: LatencyStats)

/**
 * A bitnets-tf model (`bitnets-tf convert` output with its metadata) in a TFLite Interpreter.
 *
 * Preprocessing, metadata parsing, top-k and timing live in the plain-Java `:core` module and
 * compute exactly what `bitnets-tf run` computes in Python (tested on this repository's CI).
 */
class Classifier(model: ByteBuffer, numThreads: Int) : Closeable {
    val metadata: ModelMetadata = TfliteMetadataReader.readModelMetadata(model)
        ?: throw IllegalArgumentException(
            "model.tflite has no bitnets_tf metadata (labels, normalisation). Convert it with " +
                "`bitnets-tf convert ... --dataset NAME` or run `bitnets-tf demo`."
        )
    private val interpreter: Interpreter

    // `lce` models: bitnets-tf's kernels run the Lce* operators; XNNPACK (the default) the rest.
    private val delegate: BitnetsDelegate? = if (metadata.target == "lce") BitnetsDelegate() else null

    init {
        val options = Interpreter.Options().setNumThreads(numThreads)
        delegate?.let { options.addDelegate(it) }
        interpreter = try {
            Interpreter(model, options)
        } catch (error: RuntimeException) {
            delegate?.close()
            throw error
        }
        val shape = interpreter.getInputTensor(0).shape()
        val expected = intArrayOf(1, metadata.height, metadata.width, metadata.channels)
        require(shape.contentEquals(expected)) {
            "The model input is ${shape.contentToString()} but its metadata says " +
                "${expected.contentToString()}: the metadata belongs to another model."
        }
    }

    /** Classifies [bitmap] (any size; converted like `bitnets-tf run` does), timing [runs]. */
    fun classify(bitmap: Bitmap, topK: Int, runs: Int): Classification {
        val argb = IntArray(bitmap.width * bitmap.height)
        bitmap.getPixels(argb, 0, bitmap.width, 0, 0, bitmap.width, bitmap.height)
        val input = encode(
            ImagePreprocessor.preprocess(argb, bitmap.width, bitmap.height, metadata),
            interpreter.getInputTensor(0),
        )
        val outputTensor = interpreter.getOutputTensor(0)
        val output = ByteBuffer.allocateDirect(outputTensor.numBytes()).order(ByteOrder.nativeOrder())
        val latency = LatencyStats()
        repeat(runs) {
            input.rewind()
            output.rewind()
            val start = System.nanoTime()
            interpreter.run(input, output)
            latency.add(System.nanoTime() - start)
        }
        val scores = decode(output, outputTensor)
        return Classification(
            TopK.topK(scores, topK, metadata.labels, metadata.outputsLogits()),
            latency,
        )
    }

    override fun close() {
        interpreter.close()
        delegate?.close() // after the interpreter that uses it
    }

    private fun encode(values: FloatArray, tensor: Tensor): ByteBuffer =
        when (tensor.dataType()) {
            DataType.FLOAT32 -> ByteBuffer.allocateDirect(4 * values.size)
                .order(ByteOrder.nativeOrder())
                .also { it.asFloatBuffer().put(values) }
            DataType.INT8 -> {
                val q = tensor.quantizationParams()
                ByteBuffer.allocateDirect(values.size)
                    .put(ImagePreprocessor.quantizeInt8(values, q.scale, q.zeroPoint))
            }
            else -> throw IllegalArgumentException("Unsupported input type ${tensor.dataType()}")
        }

    private fun decode(output: ByteBuffer, tensor: Tensor): FloatArray {
        output.rewind()
        return when (tensor.dataType()) {
            DataType.FLOAT32 -> FloatArray(tensor.numElements()).also { output.asFloatBuffer().get(it) }
            DataType.INT8 -> {
                val q = tensor.quantizationParams()
                val bytes = ByteArray(tensor.numElements()).also { output.get(it) }
                ImagePreprocessor.dequantizeInt8(bytes, q.scale, q.zeroPoint)
            }
            else -> throw IllegalArgumentException("Unsupported output type ${tensor.dataType()}")
        }
    }
}
