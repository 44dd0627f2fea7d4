package org.bitnets.core;

import java.util.Arrays;

/**
 * Invocation times, summarised like {@code bitnets-tf bench}: the median (mean of the two
 * middle values for an even count) and the nearest-rank 90th percentile (the {@code ceil(0.9
 * n)}-th smallest), in milliseconds.
 */
public final class LatencyStats {
    private long[] nanos = new long[16];
    private int count;

    /** Records one invocation time. */
    public void add(long elapsedNanos) {
        if (elapsedNanos < 0) {
            throw new IllegalArgumentException("negative time " + elapsedNanos);
        }
        if (count == nanos.length) {
            nanos = Arrays.copyOf(nanos, 2 * count);
        }
        nanos[count++] = elapsedNanos;
    }

    public int count() {
        return count;
    }

    public double medianMillis() {
        long[] sorted = sorted();
        int middle = count / 2;
        double median =
                count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2.0;
        return median / 1e6;
    }

    public double p90Millis() {
        long[] sorted = sorted();
        int rank = (int) Math.ceil(0.9 * count) - 1;
        return sorted[rank] / 1e6;
    }

    public double minMillis() {
        return sorted()[0] / 1e6;
    }

    private long[] sorted() {
        if (count == 0) {
            throw new IllegalStateException("no timings recorded");
        }
        long[] copy = Arrays.copyOf(nanos, count);
        Arrays.sort(copy);
        return copy;
    }
}
