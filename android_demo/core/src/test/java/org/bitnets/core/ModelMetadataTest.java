package org.bitnets.core;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.util.List;
import org.junit.Test;

public class ModelMetadataTest {
    private static final String VALID =
            "{\"labels\": [\"cat\", \"dog\"], \"input_mean\": [1, 2, 3], \"input_std\": 2.5,"
                    + " \"input_shape\": [32, 24, 3], \"target\": \"int8\"}";

    @Test
    public void parsesKeysAndBroadcastsAScalarStd() {
        ModelMetadata meta = ModelMetadata.fromJson(VALID);
        assertEquals(List.of("cat", "dog"), meta.labels);
        assertArrayEquals(new float[] {1, 2, 3}, meta.inputMean, 0f);
        assertArrayEquals(new float[] {2.5f, 2.5f, 2.5f}, meta.inputStd, 0f);
        assertEquals(32, meta.height);
        assertEquals(24, meta.width);
        assertEquals(3, meta.channels);
        assertEquals("int8", meta.target);
        assertTrue(meta.outputsLogits());
        assertNull(meta.dataset);
    }

    @Test
    public void acceptsProbabilityOutputs() {
        String json = VALID.replace("}", ", \"output\": \"probabilities\"}");
        assertFalse(ModelMetadata.fromJson(json).outputsLogits());
    }

    @Test
    public void namesTheProblemOfInvalidMetadata() {
        String[][] cases = {
            {"[1]", "must be a JSON object"},
            {VALID.replace("\"input_std\": 2.5,", ""), "lacks \"input_std\""},
            {VALID.replace("[32, 24, 3]", "[32, 24]"), "input_shape must be"},
            {VALID.replace("[32, 24, 3]", "[32, 24.5, 3]"), "input_shape must be"},
            {VALID.replace("[1, 2, 3]", "[1, 2]"), "input_mean has 2 values for 3 channels"},
            {VALID.replace("2.5", "0"), "input_std must be > 0"},
            {VALID.replace("\"dog\"", "7"), "labels must be a list of strings"},
            {VALID.replace("int8", "fp16"), "target must be lce, int8 or float"},
            {VALID.replace("[1, 2, 3]", "[1, \"2\", 3]"), "input_mean must be a number"},
        };
        for (String[] c : cases) {
            IllegalArgumentException error =
                    assertThrows(IllegalArgumentException.class, () -> ModelMetadata.fromJson(c[0]));
            assertTrue(error.getMessage(), error.getMessage().contains(c[1]));
        }
    }
}
