package org.bitnets.core;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * The "bitnets_tf" metadata of a converted model: class labels, input normalisation and shape.
 *
 * <p>Same keys and checks as the Python side ({@code bitnets_tf/deploy/metadata.py}): {@code
 * labels} (list of strings), {@code input_mean} and {@code input_std} (one number, or one per
 * channel, in pixel units 0..255: {@code x = (pixel - mean[c]) / std[c]}), {@code input_shape}
 * ([height, width, channels]), optional {@code target} ("lce", "int8", "float"), {@code output}
 * ("logits" by default, or "probabilities") and {@code dataset}.
 */
public final class ModelMetadata {
    /** Name of the entry in the .tflite metadata table that holds the JSON. */
    public static final String METADATA_NAME = "bitnets_tf";

    public final List<String> labels;
    public final float[] inputMean;
    public final float[] inputStd;
    public final int height;
    public final int width;
    public final int channels;
    public final String target;
    public final String output;
    public final String dataset;

    private ModelMetadata(
            List<String> labels,
            float[] inputMean,
            float[] inputStd,
            int[] shape,
            String target,
            String output,
            String dataset) {
        this.labels = Collections.unmodifiableList(labels);
        this.inputMean = inputMean;
        this.inputStd = inputStd;
        this.height = shape[0];
        this.width = shape[1];
        this.channels = shape[2];
        this.target = target;
        this.output = output;
        this.dataset = dataset;
    }

    /** Whether the model's output are logits (turn them into probabilities with softmax). */
    public boolean outputsLogits() {
        return "logits".equals(output);
    }

    /** Parses and validates the UTF-8 JSON bytes stored in the model. */
    public static ModelMetadata fromJsonBytes(byte[] json) {
        return fromJson(new String(json, StandardCharsets.UTF_8));
    }

    /**
     * Parses and validates the metadata JSON.
     *
     * @throws IllegalArgumentException invalid JSON, or a key missing or of the wrong type
     */
    public static ModelMetadata fromJson(String json) {
        Object parsed = Json.parse(json);
        if (!(parsed instanceof Map)) {
            throw invalid("must be a JSON object");
        }
        Map<?, ?> values = (Map<?, ?>) parsed;
        for (String key : new String[] {"labels", "input_mean", "input_std", "input_shape"}) {
            if (!values.containsKey(key)) {
                throw invalid(
                        "lacks \""
                                + key
                                + "\"; convert the model with bitnets-tf and deployment metadata");
            }
        }
        int[] shape = shape(values.get("input_shape"));
        float[] mean = perChannel(values.get("input_mean"), shape[2], "input_mean");
        float[] std = perChannel(values.get("input_std"), shape[2], "input_std");
        for (float s : std) {
            if (!(s > 0)) {
                throw invalid("input_std must be > 0");
            }
        }
        String target = optionalString(values, "target");
        if (target != null
                && !target.equals("lce")
                && !target.equals("int8")
                && !target.equals("float")) {
            throw invalid("target must be lce, int8 or float, got \"" + target + "\"");
        }
        String output = optionalString(values, "output");
        if (output == null) {
            output = "logits";
        } else if (!output.equals("logits") && !output.equals("probabilities")) {
            throw invalid("output must be logits or probabilities, got \"" + output + "\"");
        }
        return new ModelMetadata(
                labels(values.get("labels")),
                mean,
                std,
                shape,
                target,
                output,
                optionalString(values, "dataset"));
    }

    private static IllegalArgumentException invalid(String message) {
        return new IllegalArgumentException("bitnets_tf metadata " + message);
    }

    private static List<String> labels(Object value) {
        if (!(value instanceof List)) {
            throw invalid("labels must be a list of strings");
        }
        List<String> result = new ArrayList<>();
        for (Object item : (List<?>) value) {
            if (!(item instanceof String)) {
                throw invalid("labels must be a list of strings");
            }
            result.add((String) item);
        }
        return result;
    }

    private static int[] shape(Object value) {
        String expected = "input_shape must be [height, width, channels] of positive integers";
        if (!(value instanceof List) || ((List<?>) value).size() != 3) {
            throw invalid(expected);
        }
        int[] result = new int[3];
        for (int i = 0; i < 3; i++) {
            Object item = ((List<?>) value).get(i);
            if (!(item instanceof Double)) {
                throw invalid(expected);
            }
            double number = (Double) item;
            if (number != Math.rint(number) || number < 1 || number > Integer.MAX_VALUE) {
                throw invalid(expected);
            }
            result[i] = (int) number;
        }
        return result;
    }

    private static float[] perChannel(Object value, int channels, String key) {
        List<?> items = value instanceof List ? (List<?>) value : Collections.singletonList(value);
        if (items.isEmpty()) {
            throw invalid(key + " must be a number or a list of numbers");
        }
        if (items.size() != 1 && items.size() != channels) {
            throw invalid(
                    key + " has " + items.size() + " values for " + channels + " channels");
        }
        float[] result = new float[channels];
        for (int c = 0; c < channels; c++) {
            Object item = items.get(items.size() == 1 ? 0 : c);
            if (!(item instanceof Double) || !Double.isFinite((Double) item)) {
                throw invalid(key + " must be a number or a list of numbers");
            }
            result[c] = ((Double) item).floatValue();
        }
        return result;
    }

    private static String optionalString(Map<?, ?> values, String key) {
        Object value = values.get(key);
        if (value == null) {
            return null;
        }
        if (!(value instanceof String)) {
            throw invalid(key + " must be a string");
        }
        return (String) value;
    }
}
