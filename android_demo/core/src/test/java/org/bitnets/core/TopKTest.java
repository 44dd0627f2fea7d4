package org.bitnets.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import java.util.List;
import org.junit.Test;

public class TopKTest {
    @Test
    public void ranksScoresBestFirstWithSoftmaxProbabilities() {
        List<Prediction> top = TopK.topK(new float[] {1f, 3f, 2f}, 2, List.of("a", "b", "c"), true);
        assertEquals(2, top.size());
        assertEquals("b", top.get(0).label);
        assertEquals("c", top.get(1).label);
        double denominator = Math.exp(-2) + 1 + Math.exp(-1);
        assertEquals(1 / denominator, top.get(0).probability, 1e-12);
        assertEquals(Math.exp(-1) / denominator, top.get(1).probability, 1e-12);
    }

    @Test
    public void tiesKeepIndexOrderAndMissingLabelsAreNamedByIndex() {
        List<Prediction> top = TopK.topK(new float[] {5f, 5f, 5f}, 5, List.of("only"), false);
        assertEquals(3, top.size());
        assertEquals("only", top.get(0).label);
        assertEquals("class 1", top.get(1).label);
        assertEquals("class 2", top.get(2).label);
        assertEquals(5.0, top.get(2).probability, 0); // probabilities pass through
    }

    @Test
    public void softmaxIsStableForLargeLogits() {
        double[] p = TopK.softmax(new float[] {1000f, 1000f});
        assertEquals(0.5, p[0], 1e-12);
        assertEquals(0.5, p[1], 1e-12);
    }

    @Test
    public void rejectsNonPositiveK() {
        assertThrows(IllegalArgumentException.class, () -> TopK.topK(new float[] {1f}, 0, List.of(), true));
    }
}
