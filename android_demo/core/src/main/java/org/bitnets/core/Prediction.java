package org.bitnets.core;

/** One class of a classification: index, label name, probability and the raw score. */
public final class Prediction {
    public final int index;
    public final String label;
    public final double probability;
    public final float score;

    public Prediction(int index, String label, double probability, float score) {
        this.index = index;
        this.label = label;
        this.probability = probability;
        this.score = score;
    }

    @Override
    public String toString() {
        return String.format(java.util.Locale.ROOT, "%s %.1f%%", label, 100 * probability);
    }
}
