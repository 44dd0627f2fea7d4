package org.bitnets.core;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import javax.imageio.ImageIO;
import org.junit.Test;

public class ImagePreprocessorTest {
    private static int[] argb(BufferedImage image) {
        return image.getRGB(0, 0, image.getWidth(), image.getHeight(), null, 0, image.getWidth());
    }

    private static void assertSameAsPython(String model, String photo) throws Exception {
        ModelMetadata meta = TfliteMetadataReader.readModelMetadata(Fixtures.model(model + "_lce.tflite"));
        BufferedImage image = ImageIO.read(new ByteArrayInputStream(Fixtures.bytes(photo + ".png")));
        float[] input = ImagePreprocessor.preprocess(argb(image), image.getWidth(), image.getHeight(), meta);
        float[] expected = Fixtures.floats("expected_" + model + "_" + photo + ".f32");
        assertEquals(meta.height * meta.width * meta.channels, expected.length);
        // Bit-identical: same integer luma and resampling as Pillow, same float32 arithmetic.
        assertArrayEquals(model + " " + photo, expected, input, 0f);
    }

    @Test
    public void grayscaleModelInputMatchesPythonWhenShrinking() throws Exception {
        assertSameAsPython("fashion", "photo_large"); // 45x37 RGB -> luma -> 28x28
    }

    @Test
    public void grayscaleModelInputMatchesPythonWhenEnlarging() throws Exception {
        assertSameAsPython("fashion", "photo_small"); // 20x24 RGB -> luma -> 28x28
    }

    @Test
    public void rgbModelInputMatchesPythonPerChannel() throws Exception {
        assertSameAsPython("cifar", "photo_large");
        assertSameAsPython("cifar", "photo_small");
    }

    @Test
    public void lumaIsPillowsFixedPointFormula() {
        int[][] planes = ImagePreprocessor.channelPlanes(new int[] {0xFFFF0000, 0xFF00FF00, 0xFF0000FF, 0x80FFFFFF}, 1);
        assertArrayEquals(new int[] {76, 150, 29, 255}, planes[0]); // alpha is ignored
    }

    @Test
    public void resizeKeepsConstantImagesAndSameSizeImages() {
        int[] flat = new int[7 * 5];
        java.util.Arrays.fill(flat, 200);
        for (int[] size : new int[][] {{3, 2}, {28, 28}, {7, 5}, {1, 1}}) {
            int[] out = BilinearResize.resize(flat, 7, 5, size[0], size[1]);
            for (int v : out) {
                assertEquals(200, v);
            }
        }
        int[] ramp = {0, 10, 20, 30};
        assertArrayEquals(ramp, BilinearResize.resize(ramp, 4, 1, 4, 1));
    }

    @Test
    public void halvingUsesTheTriangleFilterStretchedByTheScale() {
        // Output 0 has centre 1.0 and support 2: inputs 0, 1, 2 with weights 3/7, 3/7, 1/7
        // (400/7 = 57.1); output 1 has centre 3.0: inputs 1, 2, 3 with 1/7, 3/7, 3/7 (182.9).
        int[] out = BilinearResize.resize(new int[] {0, 80, 160, 240}, 4, 1, 2, 1);
        assertArrayEquals(new int[] {57, 183}, out);
    }

    @Test
    public void normalisesWithTheMetadatasMeanAndStd() {
        ModelMetadata meta =
                ModelMetadata.fromJson(
                        "{\"labels\": [], \"input_mean\": [10, 20, 30], \"input_std\": [2, 4, 5],"
                                + " \"input_shape\": [1, 1, 3]}");
        float[] input = ImagePreprocessor.preprocess(new int[] {0xFF0E1C2D}, 1, 1, meta);
        assertArrayEquals(new float[] {(14 - 10) / 2f, (28 - 20) / 4f, (45 - 30) / 5f}, input, 0f);
    }

    @Test
    public void rejectsUnsupportedChannelCountsAndPixelCounts() {
        ModelMetadata four =
                ModelMetadata.fromJson(
                        "{\"labels\": [], \"input_mean\": 0, \"input_std\": 1, \"input_shape\": [2, 2, 4]}");
        assertThrows(IllegalArgumentException.class, () -> ImagePreprocessor.preprocess(new int[4], 2, 2, four));
        ModelMetadata gray =
                ModelMetadata.fromJson(
                        "{\"labels\": [], \"input_mean\": 0, \"input_std\": 1, \"input_shape\": [2, 2, 1]}");
        assertThrows(IllegalArgumentException.class, () -> ImagePreprocessor.preprocess(new int[3], 2, 2, gray));
    }

    @Test
    public void int8QuantizationRoundsHalfToEvenAndSaturates() {
        byte[] q = ImagePreprocessor.quantizeInt8(new float[] {0.25f, 0.75f, -0.25f, 100f, -100f}, 0.5f, 0);
        assertArrayEquals(new byte[] {0, 2, 0, 127, -128}, q);
        assertArrayEquals(new byte[] {-1, 1}, ImagePreprocessor.quantizeInt8(new float[] {0.25f, 0.75f}, 0.5f, -1));
        assertArrayEquals(new float[] {0.5f, -63.5f}, ImagePreprocessor.dequantizeInt8(new byte[] {0, -128}, 0.5f, -1), 0f);
    }
}
