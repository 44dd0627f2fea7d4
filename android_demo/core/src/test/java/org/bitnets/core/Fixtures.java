package org.bitnets.core;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Test resources made by android_demo/core/make_fixtures.py, read from the classpath. */
final class Fixtures {
    private Fixtures() {}

    static byte[] bytes(String name) throws IOException {
        try (InputStream in = Fixtures.class.getResourceAsStream("/" + name)) {
            if (in == null) {
                throw new IOException(
                        "missing test resource " + name + "; run android_demo/core/make_fixtures.py");
            }
            return in.readAllBytes();
        }
    }

    static ByteBuffer model(String name) throws IOException {
        return ByteBuffer.wrap(bytes(name));
    }

    static float[] floats(String name) throws IOException {
        ByteBuffer buffer = ByteBuffer.wrap(bytes(name)).order(ByteOrder.LITTLE_ENDIAN);
        float[] values = new float[buffer.remaining() / 4];
        buffer.asFloatBuffer().get(values);
        return values;
    }
}
