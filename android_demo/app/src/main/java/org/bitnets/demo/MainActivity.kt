package org.bitnets.demo

import android.graphics.Bitmap
import android.graphics.BitmapFactory
import android.net.Uri
import android.os.Bundle
import android.widget.Button
import android.widget.ImageView
import android.widget.TextView
import androidx.activity.result.contract.ActivityResultContracts
import androidx.appcompat.app.AppCompatActivity
import java.io.FileInputStream
import java.nio.ByteBuffer
import java.nio.channels.FileChannel
import java.util.Locale
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors

/** Pick a photo or take one; shows the model's top classes and its latency. */
class MainActivity : AppCompatActivity() {
    private val worker: ExecutorService = Executors.newSingleThreadExecutor()
    private var classifier: Classifier? = null
    private lateinit var modelInfo: TextView
    private lateinit var results: TextView
    private lateinit var imageView: ImageView

    private val pickImage =
        registerForActivityResult(ActivityResultContracts.GetContent()) { uri: Uri? ->
            uri?.let { picked -> classifyAsync { decodeSampled(picked) } }
        }
    private val takePhoto =
        registerForActivityResult(ActivityResultContracts.TakePicturePreview()) { bitmap: Bitmap? ->
            bitmap?.let { photo -> classifyAsync { photo } }
        }

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_main)
        modelInfo = findViewById(R.id.model_info)
        results = findViewById(R.id.results)
        imageView = findViewById(R.id.image)
        findViewById<Button>(R.id.pick_image).setOnClickListener { pickImage.launch("image/*") }
        findViewById<Button>(R.id.take_photo).setOnClickListener { takePhoto.launch(null) }
        worker.execute { loadModel() }
    }

    override fun onDestroy() {
        worker.execute { classifier?.close() }
        worker.shutdown()
        super.onDestroy()
    }

    private fun loadModel() {
        val text = try {
            val loaded = Classifier(mapAsset(MODEL_ASSET), THREADS)
            classifier = loaded
            val meta = loaded.metadata
            String.format(
                Locale.ROOT,
                "%s: %s model, input %dx%dx%d, %d classes, %d threads",
                MODEL_ASSET, meta.target ?: "?", meta.height, meta.width, meta.channels,
                meta.labels.size, THREADS,
            )
        } catch (error: Exception) {
            "Cannot load $MODEL_ASSET: ${error.message}\n${error.cause?.message ?: ""}"
        }
        runOnUiThread { modelInfo.text = text }
    }

    private fun mapAsset(name: String): ByteBuffer =
        assets.openFd(name).use { fd ->
            FileInputStream(fd.fileDescriptor).channel.use { channel ->
                channel.map(FileChannel.MapMode.READ_ONLY, fd.startOffset, fd.declaredLength)
            }
        }

    private fun classifyAsync(load: () -> Bitmap?) {
        results.text = "…"
        worker.execute {
            val bitmap = try {
                load()?.let { toArgb(it) }
            } catch (error: Exception) {
                null
            }
            val model = classifier
            val text = when {
                bitmap == null -> "Cannot decode that image."
                model == null -> "No model loaded (see the message above)."
                else -> try {
                    report(model.classify(bitmap, TOP_K, TIMED_RUNS))
                } catch (error: Exception) {
                    "Classification failed: ${error.message}"
                }
            }
            runOnUiThread {
                bitmap?.let { imageView.setImageBitmap(it) }
                results.text = text
            }
        }
    }

    private fun report(result: Classification): String {
        val lines = result.predictions.map {
            String.format(Locale.ROOT, "%-14s %6.2f %%", it.label, 100 * it.probability)
        }
        val latency = result.latency
        return lines.joinToString("\n") + String.format(
            Locale.ROOT,
            "\n\nlatency: median %.2f ms, p90 %.2f ms over %d runs",
            latency.medianMillis(), latency.p90Millis(), latency.count(),
        )
    }

    /** Decodes a gallery image, subsampled by a power of two to at most MAX_SIDE pixels. */
    private fun decodeSampled(uri: Uri): Bitmap? {
        val bounds = BitmapFactory.Options().apply { inJustDecodeBounds = true }
        contentResolver.openInputStream(uri)?.use { BitmapFactory.decodeStream(it, null, bounds) }
        var sample = 1
        while (maxOf(bounds.outWidth, bounds.outHeight) / (2 * sample) >= MAX_SIDE) sample *= 2
        val options = BitmapFactory.Options().apply { inSampleSize = sample }
        return contentResolver.openInputStream(uri)?.use {
            BitmapFactory.decodeStream(it, null, options)
        }
    }

    private fun toArgb(bitmap: Bitmap): Bitmap =
        if (bitmap.config == Bitmap.Config.ARGB_8888) bitmap
        else bitmap.copy(Bitmap.Config.ARGB_8888, false)

    companion object {
        const val MODEL_ASSET = "model.tflite"
        const val TOP_K = 3
        const val TIMED_RUNS = 20
        const val MAX_SIDE = 1024
        val THREADS = minOf(4, Runtime.getRuntime().availableProcessors())
    }
}
