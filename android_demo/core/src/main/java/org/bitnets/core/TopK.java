package org.bitnets.core;

import java.util.ArrayList;
import java.util.List;

/** The best classes of a model output, as {@code bitnets_tf.deploy.runner.top_k} ranks them. */
public final class TopK {
    private TopK() {}

    /** {@code p_i = exp(z_i - max z) / sum_j exp(z_j - max z)}, in double precision. */
    public static double[] softmax(float[] logits) {
        if (logits.length == 0) {
            throw new IllegalArgumentException("softmax of an empty vector");
        }
        float max = logits[0];
        for (float z : logits) {
            max = Math.max(max, z);
        }
        double[] p = new double[logits.length];
        double sum = 0.0;
        for (int i = 0; i < logits.length; i++) {
            p[i] = Math.exp((double) logits[i] - max);
            sum += p[i];
        }
        for (int i = 0; i < p.length; i++) {
            p[i] /= sum;
        }
        return p;
    }

    /**
     * The {@code k} highest scores, best first; equal scores keep index order. Probabilities are
     * the softmax of the scores when {@code logits}, else the scores themselves. Classes without
     * a label are named "class i".
     */
    public static List<Prediction> topK(float[] scores, int k, List<String> labels, boolean logits) {
        if (k < 1) {
            throw new IllegalArgumentException("k must be >= 1, got " + k);
        }
        double[] probabilities;
        if (logits) {
            probabilities = softmax(scores);
        } else {
            probabilities = new double[scores.length];
            for (int i = 0; i < scores.length; i++) {
                probabilities[i] = scores[i];
            }
        }
        boolean[] taken = new boolean[scores.length];
        List<Prediction> result = new ArrayList<>();
        for (int rank = 0; rank < Math.min(k, scores.length); rank++) {
            int best = -1;
            for (int i = 0; i < scores.length; i++) {
                if (!taken[i] && (best < 0 || scores[i] > scores[best])) {
                    best = i;
                }
            }
            taken[best] = true;
            String label = best < labels.size() ? labels.get(best) : "class " + best;
            result.add(new Prediction(best, label, probabilities[best], scores[best]));
        }
        return result;
    }
}
