package org.bitnets.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.Test;

public class JsonTest {
    @Test
    public void parsesNestedValuesOfEveryType() {
        Object value =
                Json.parse(
                        " {\"a\": [1, -2.5e3, 0.125], \"b\": {\"c\": true, \"d\": null},"
                                + " \"e\": false, \"f\": \"x\"} ");
        Map<?, ?> map = (Map<?, ?>) value;
        assertEquals(Arrays.asList(1.0, -2500.0, 0.125), map.get("a"));
        Map<?, ?> inner = (Map<?, ?>) map.get("b");
        assertEquals(Boolean.TRUE, inner.get("c"));
        assertTrue(inner.containsKey("d"));
        assertNull(inner.get("d"));
        assertEquals(Boolean.FALSE, map.get("e"));
        assertEquals("x", map.get("f"));
        assertEquals(Arrays.asList("a", "b", "e", "f"), List.copyOf(map.keySet()));
    }

    @Test
    public void decodesEscapesAndNonAsciiText() {
        assertEquals("T-shirt/top \"é\" \n\u00e9\ud83d\ude00",
                Json.parse("\"T-shirt\\/top \\\"\u00e9\\\" \\n\\u00e9\\ud83d\\ude00\""));
        assertEquals(List.of(), Json.parse("[]"));
        assertEquals(Map.of(), Json.parse("{}"));
    }

    @Test
    public void rejectsMalformedInputWithItsOffset() {
        for (String bad :
                new String[] {
                    "", "{", "[1,]", "{\"a\" 1}", "01", "1.", "-", "\"abc", "tru", "[1] 2",
                    "{\"a\":1,}", "\"\\x\"", "\"a\nb\"", "{1: 2}", "\"\\u12G4\""
                }) {
            IllegalArgumentException error =
                    assertThrows(IllegalArgumentException.class, () -> Json.parse(bad));
            assertTrue(bad + ": " + error.getMessage(), error.getMessage().startsWith("Invalid JSON at offset"));
        }
    }
}
