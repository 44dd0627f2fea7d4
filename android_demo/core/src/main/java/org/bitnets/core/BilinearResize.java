package org.bitnets.core;

/**
 * Bilinear resizing of one 8-bit image plane, computing exactly what Pillow's {@code
 * Image.resize(size, Image.Resampling.BILINEAR)} computes for "L" and "RGB" images (and so what
 * {@code bitnets-tf run} feeds the model).
 *
 * <p>Pillow (libImaging/Resample.c) resamples in two separable passes, horizontal then
 * vertical, each a convolution with the triangle filter {@code w(t) = max(0, 1 - |t|)}
 * stretched by the scale {@code s = inSize / outSize} when shrinking (so downscaling averages
 * over the whole footprint instead of aliasing): output sample {@code i} has centre {@code c =
 * (i + 0.5) s}, takes inputs {@code j} in {@code [round(c - S), round(c + S))} with support
 * {@code S = max(s, 1)}, weights {@code w((j - c + 0.5) / max(s, 1))} normalised to sum 1 and
 * rounded to 22-bit fixed point; each pass rounds and clips its result to 0..255.
 */
public final class BilinearResize {
    private static final int PRECISION_BITS = 32 - 8 - 2;

    private BilinearResize() {}

    /**
     * Resizes a plane of {@code inWidth * inHeight} values in 0..255 (row-major) to {@code
     * outWidth * outHeight}.
     */
    public static int[] resize(int[] plane, int inWidth, int inHeight, int outWidth, int outHeight) {
        if (inWidth < 1 || inHeight < 1 || outWidth < 1 || outHeight < 1) {
            throw new IllegalArgumentException("image sizes must be positive");
        }
        if (plane.length != inWidth * inHeight) {
            throw new IllegalArgumentException(
                    "plane has " + plane.length + " values for " + inWidth + "x" + inHeight);
        }
        int[] result = plane;
        int width = inWidth;
        if (outWidth != inWidth) {
            result = horizontal(result, inWidth, inHeight, outWidth);
            width = outWidth;
        }
        if (outHeight != inHeight) {
            result = vertical(result, width, inHeight, outHeight);
        }
        return result == plane ? plane.clone() : result;
    }

    /** Per output index: first input index, number of inputs, fixed-point weights. */
    private static final class Coefficients {
        final int[] first;
        final int[] count;
        final int[][] weights;

        Coefficients(int inSize, int outSize) {
            double scale = (double) inSize / outSize;
            double filterScale = Math.max(scale, 1.0);
            double support = filterScale; // the triangle filter's support is 1
            first = new int[outSize];
            count = new int[outSize];
            weights = new int[outSize][];
            for (int i = 0; i < outSize; i++) {
                double center = (i + 0.5) * scale;
                int min = Math.max((int) (center - support + 0.5), 0);
                int max = Math.min((int) (center + support + 0.5), inSize) - min;
                double[] w = new double[Math.max(max, 0)];
                double sum = 0.0;
                for (int j = 0; j < w.length; j++) {
                    w[j] = triangle((j + min - center + 0.5) / filterScale);
                    sum += w[j];
                }
                weights[i] = new int[w.length];
                for (int j = 0; j < w.length; j++) {
                    double normalised = sum != 0.0 ? w[j] / sum : w[j];
                    weights[i][j] = toFixedPoint(normalised);
                }
                first[i] = min;
                count[i] = w.length;
            }
        }
    }

    private static double triangle(double t) {
        double x = Math.abs(t);
        return x < 1.0 ? 1.0 - x : 0.0;
    }

    private static int toFixedPoint(double weight) {
        double scaled = weight * (1 << PRECISION_BITS);
        return (int) (weight < 0 ? -0.5 + scaled : 0.5 + scaled);
    }

    private static int clip8(int accumulated) {
        if (accumulated >= (1 << PRECISION_BITS << 8)) {
            return 255;
        }
        if (accumulated <= 0) {
            return 0;
        }
        return accumulated >> PRECISION_BITS;
    }

    private static int[] horizontal(int[] in, int inWidth, int height, int outWidth) {
        Coefficients k = new Coefficients(inWidth, outWidth);
        int[] out = new int[outWidth * height];
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < outWidth; x++) {
                int sum = 1 << (PRECISION_BITS - 1);
                for (int j = 0; j < k.count[x]; j++) {
                    sum += in[y * inWidth + k.first[x] + j] * k.weights[x][j];
                }
                out[y * outWidth + x] = clip8(sum);
            }
        }
        return out;
    }

    private static int[] vertical(int[] in, int width, int inHeight, int outHeight) {
        Coefficients k = new Coefficients(inHeight, outHeight);
        int[] out = new int[width * outHeight];
        for (int y = 0; y < outHeight; y++) {
            for (int x = 0; x < width; x++) {
                int sum = 1 << (PRECISION_BITS - 1);
                for (int j = 0; j < k.count[y]; j++) {
                    sum += in[(k.first[y] + j) * width + x] * k.weights[y][j];
                }
                out[y * width + x] = clip8(sum);
            }
        }
        return out;
    }
}
