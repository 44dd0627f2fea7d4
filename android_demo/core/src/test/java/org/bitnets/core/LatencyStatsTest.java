package org.bitnets.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import org.junit.Test;

public class LatencyStatsTest {
    @Test
    public void medianAndNearestRankPercentileLikeThePythonBenchmark() {
        LatencyStats stats = new LatencyStats();
        for (long ms : new long[] {5, 1, 4, 2, 3, 10, 6, 7, 9, 8}) {
            stats.add(ms * 1_000_000L);
        }
        assertEquals(10, stats.count());
        assertEquals(5.5, stats.medianMillis(), 1e-12); // mean of 5 and 6
        assertEquals(9.0, stats.p90Millis(), 1e-12); // ceil(0.9 * 10) = 9th smallest
        assertEquals(1.0, stats.minMillis(), 1e-12);
        stats.add(11_000_000L);
        assertEquals(6.0, stats.medianMillis(), 1e-12);
        assertEquals(10.0, stats.p90Millis(), 1e-12); // ceil(9.9) = 10th smallest
    }

    @Test
    public void growsBeyondItsInitialCapacity() {
        LatencyStats stats = new LatencyStats();
        for (int i = 1; i <= 101; i++) {
            stats.add(i * 1_000L);
        }
        assertEquals(0.051, stats.medianMillis(), 1e-12);
    }

    @Test
    public void refusesEmptyAndNegativeTimings() {
        LatencyStats stats = new LatencyStats();
        assertThrows(IllegalStateException.class, stats::medianMillis);
        assertThrows(IllegalArgumentException.class, () -> stats.add(-1));
    }
}
