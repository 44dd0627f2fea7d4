package org.bitnets.core;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import org.junit.Test;

/** Reads .tflite files written by bitnets_tf.converters.convert (see make_fixtures.py). */
public class TfliteMetadataReaderTest {
    private static final List<String> FASHION_LABELS =
            List.of("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                    "Sneaker", "Bag", "Ankle boot");

    @Test
    public void readsTheConvertersMetadataForAGrayscaleModel() throws Exception {
        ModelMetadata meta = TfliteMetadataReader.readModelMetadata(Fixtures.model("fashion_lce.tflite"));
        assertEquals(FASHION_LABELS, meta.labels);
        assertArrayEquals(new float[] {127.5f}, meta.inputMean, 0f);
        assertArrayEquals(new float[] {127.5f}, meta.inputStd, 0f);
        assertEquals(28, meta.height);
        assertEquals(28, meta.width);
        assertEquals(1, meta.channels);
        assertEquals("lce", meta.target);
        assertEquals("fashion_mnist", meta.dataset);
    }

    @Test
    public void readsPerChannelNormalisationOfAnRgbModel() throws Exception {
        ModelMetadata meta = TfliteMetadataReader.readModelMetadata(Fixtures.model("cifar_lce.tflite"));
        assertEquals(10, meta.labels.size());
        assertEquals("airplane", meta.labels.get(0));
        assertEquals(3, meta.channels);
        assertArrayEquals(new float[] {125.307f, 122.961f, 113.8575f}, meta.inputMean, 0f);
        assertEquals(32, meta.height);
    }

    @Test
    public void leavesTheCallersBufferPositionAlone() throws Exception {
        ByteBuffer model = Fixtures.model("fashion_lce.tflite");
        model.position(5);
        TfliteMetadataReader.readModelMetadata(model);
        assertEquals(5, model.position());
    }

    @Test
    public void returnsNullForAnAbsentEntry() throws Exception {
        assertNull(TfliteMetadataReader.readEntry(Fixtures.model("fashion_lce.tflite"), "no_such"));
        // TFLite's converter adds its own entry, which the reader also finds.
        byte[] version = TfliteMetadataReader.readEntry(Fixtures.model("fashion_lce.tflite"), "min_runtime_version");
        assertTrue(version != null && version.length > 0);
    }

    @Test
    public void rejectsFilesThatAreNotTflite() {
        IllegalArgumentException error =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> TfliteMetadataReader.readModelMetadata(ByteBuffer.wrap("PNG not a model".getBytes())));
        assertTrue(error.getMessage().contains("Not a TFLite model"));
    }

    @Test
    public void rejectsATruncatedModelInsteadOfReadingGarbage() throws Exception {
        byte[] model = Fixtures.bytes("fashion_lce.tflite");
        int labels = new String(model, java.nio.charset.StandardCharsets.ISO_8859_1).indexOf("T-shirt");
        assertTrue(labels > 0);
        for (int length : new int[] {8, 40, labels}) { // header, root table, inside the JSON
            ByteBuffer truncated = ByteBuffer.wrap(Arrays.copyOf(model, length));
            IllegalArgumentException error =
                    assertThrows(IllegalArgumentException.class, () -> TfliteMetadataReader.readModelMetadata(truncated));
            assertTrue(error.getMessage(), error.getMessage().startsWith("Corrupt .tflite file"));
        }
    }
}
