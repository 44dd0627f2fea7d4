package org.bitnets.core;

/**
 * Turns ARGB pixels (as Android's {@code Bitmap.getPixels} returns them) into the model's
 * float input, the same way {@code bitnets-tf run} does with Pillow:
 *
 * <ol>
 *   <li>channels: for a 1-channel model, Pillow's ITU-R 601-2 luma {@code L = (19595 R + 38470
 *       G + 7471 B + 32768) >> 16} (≈ 0.299 R + 0.587 G + 0.114 B); for 3 channels R, G, B;
 *       alpha is ignored;
 *   <li>size: {@link BilinearResize} to the model's width and height;
 *   <li>normalisation: {@code x = (pixel - mean[c]) / std[c]} in float32.
 * </ol>
 *
 * The result is height × width × channels, channels last (NHWC without the batch axis).
 */
public final class ImagePreprocessor {
    private ImagePreprocessor() {}

    /** The model input for an image of {@code width × height} ARGB pixels. */
    public static float[] preprocess(int[] argb, int width, int height, ModelMetadata meta) {
        if (width < 1 || height < 1 || argb.length != width * height) {
            throw new IllegalArgumentException(
                    "expected " + width + "x" + height + " pixels, got " + argb.length);
        }
        int[][] planes = channelPlanes(argb, meta.channels);
        int pixels = meta.height * meta.width;
        float[] input = new float[pixels * meta.channels];
        for (int c = 0; c < meta.channels; c++) {
            int[] plane = BilinearResize.resize(planes[c], width, height, meta.width, meta.height);
            for (int i = 0; i < pixels; i++) {
                input[i * meta.channels + c] = (plane[i] - meta.inputMean[c]) / meta.inputStd[c];
            }
        }
        return input;
    }

    /** One 0..255 plane per model channel: luma for 1 channel, R, G, B for 3. */
    static int[][] channelPlanes(int[] argb, int channels) {
        if (channels != 1 && channels != 3) {
            throw new IllegalArgumentException(
                    "images can feed 1-channel (grayscale) or 3-channel (RGB) models, not "
                            + channels
                            + "-channel ones");
        }
        int[][] planes = new int[channels][argb.length];
        for (int i = 0; i < argb.length; i++) {
            int r = (argb[i] >> 16) & 0xFF;
            int g = (argb[i] >> 8) & 0xFF;
            int b = argb[i] & 0xFF;
            if (channels == 1) {
                planes[0][i] = (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16;
            } else {
                planes[0][i] = r;
                planes[1][i] = g;
                planes[2][i] = b;
            }
        }
        return planes;
    }

    /**
     * Quantizes a float input for an int8 model input tensor: {@code q = clamp(rint(x / scale)
     * + zeroPoint, -128, 127)} (round half to even, as numpy's {@code np.round}).
     */
    public static byte[] quantizeInt8(float[] input, float scale, int zeroPoint) {
        if (!(scale > 0)) {
            throw new IllegalArgumentException("int8 input scale must be > 0, got " + scale);
        }
        byte[] out = new byte[input.length];
        for (int i = 0; i < input.length; i++) {
            double q = Math.rint(input[i] / scale) + zeroPoint;
            out[i] = (byte) Math.max(-128, Math.min(127, q));
        }
        return out;
    }

    /** {@code x = (q - zeroPoint) * scale} for an int8 output tensor. */
    public static float[] dequantizeInt8(byte[] output, float scale, int zeroPoint) {
        float[] out = new float[output.length];
        for (int i = 0; i < output.length; i++) {
            out[i] = (output[i] - zeroPoint) * scale;
        }
        return out;
    }
}
