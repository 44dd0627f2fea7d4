package org.bitnets.core;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Reads named entries of a .tflite file's metadata table, without the FlatBuffers library.
 *
 * <p>A .tflite file is a FlatBuffer (tensorflow/lite/schema/schema.fbs) with file identifier
 * "TFL3" at bytes 4..8. The root table {@code Model} has {@code buffers: [Buffer]} as field 4
 * and {@code metadata: [Metadata]} as field 6; a {@code Metadata} is {@code (name: string,
 * buffer: uint)}, an index into {@code buffers}; a {@code Buffer} holds its bytes in {@code
 * data: [ubyte]} (field 0) or, in files over 2 GB, at file {@code offset} (field 1) with {@code
 * size} (field 2).
 *
 * <p>FlatBuffer encoding (little endian): the file starts with the uint32 offset of the root
 * table; a table starts with an int32 {@code soffset} such that its vtable is at {@code table -
 * soffset}; the vtable is uint16 [vtable size, table size, field offsets...] where 0 means the
 * field is absent; a reference field holds a uint32 offset relative to its own position; a
 * vector or string starts with its uint32 length.
 */
public final class TfliteMetadataReader {
    private static final int MODEL_BUFFERS = 4;
    private static final int MODEL_METADATA = 6;
    private static final int METADATA_NAME = 0;
    private static final int METADATA_BUFFER = 1;
    private static final int BUFFER_DATA = 0;
    private static final int BUFFER_OFFSET = 1;
    private static final int BUFFER_SIZE = 2;

    private final ByteBuffer bytes;

    private TfliteMetadataReader(ByteBuffer model) {
        this.bytes = model.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * The bitnets-tf metadata of a model, or null when the model has none.
     *
     * @throws IllegalArgumentException not a TFLite file, a corrupt file, or invalid metadata
     */
    public static ModelMetadata readModelMetadata(ByteBuffer model) {
        byte[] json = readEntry(model, ModelMetadata.METADATA_NAME);
        return json == null ? null : ModelMetadata.fromJsonBytes(json);
    }

    /**
     * The bytes stored under {@code name} in the metadata table, or null if there is no entry.
     * {@code model} holds the whole file from its position 0; its position is not changed.
     *
     * @throws IllegalArgumentException not a TFLite flatbuffer, or a corrupt one
     */
    public static byte[] readEntry(ByteBuffer model, String name) {
        TfliteMetadataReader reader = new TfliteMetadataReader(model);
        reader.checkIdentifier();
        try {
            return reader.find(name);
        } catch (IndexOutOfBoundsException | IllegalArgumentException error) {
            throw new IllegalArgumentException(
                    "Corrupt .tflite file: its metadata table cannot be read ("
                            + error.getMessage()
                            + ")",
                    error);
        }
    }

    private void checkIdentifier() {
        if (bytes.limit() < 8
                || bytes.get(4) != 'T'
                || bytes.get(5) != 'F'
                || bytes.get(6) != 'L'
                || bytes.get(7) != '3') {
            throw new IllegalArgumentException(
                    "Not a TFLite model (no TFL3 identifier): the file is corrupt, truncated or of"
                            + " another format");
        }
    }

    private byte[] find(String name) {
        int model = uint32(0);
        int metadata = field(model, MODEL_METADATA);
        if (metadata == 0) {
            return null;
        }
        int vector = reference(metadata);
        int count = uint32(vector);
        for (int i = 0; i < count; i++) {
            int entry = reference(vector + 4 + 4 * i);
            int nameField = field(entry, METADATA_NAME);
            if (nameField == 0 || !name.equals(string(reference(nameField)))) {
                continue;
            }
            int bufferField = field(entry, METADATA_BUFFER);
            int bufferIndex = bufferField == 0 ? 0 : uint32(bufferField);
            return buffer(model, bufferIndex);
        }
        return null;
    }

    private byte[] buffer(int model, int index) {
        int buffers = field(model, MODEL_BUFFERS);
        if (buffers == 0) {
            throw new IllegalArgumentException("the model has no buffers");
        }
        int vector = reference(buffers);
        if (index < 0 || index >= uint32(vector)) {
            throw new IllegalArgumentException("metadata buffer index " + index + " is invalid");
        }
        int buffer = reference(vector + 4 + 4 * index);
        int data = field(buffer, BUFFER_DATA);
        if (data != 0) {
            int start = reference(data);
            return slice(start + 4, uint32(start));
        }
        int offset = field(buffer, BUFFER_OFFSET);
        int size = field(buffer, BUFFER_SIZE);
        if (offset == 0 || size == 0) {
            return new byte[0];
        }
        return slice(checkedInt(bytes.getLong(offset)), checkedInt(bytes.getLong(size)));
    }

    /** Absolute position of field {@code index} of the table at {@code table}; 0 if absent. */
    private int field(int table, int index) {
        int vtable = table - bytes.getInt(table);
        int vtableSize = uint16(vtable);
        int slot = 4 + 2 * index;
        if (slot >= vtableSize) {
            return 0;
        }
        int offset = uint16(vtable + slot);
        return offset == 0 ? 0 : table + offset;
    }

    private int reference(int position) {
        return position + uint32(position);
    }

    private int uint32(int position) {
        int value = bytes.getInt(position);
        if (value < 0) {
            throw new IllegalArgumentException("offset out of range at " + position);
        }
        return value;
    }

    private int uint16(int position) {
        return bytes.getShort(position) & 0xFFFF;
    }

    private String string(int position) {
        return new String(slice(position + 4, uint32(position)), StandardCharsets.UTF_8);
    }

    private byte[] slice(int start, int length) {
        if (start < 0 || length < 0 || start > bytes.limit() - length) {
            throw new IllegalArgumentException("data runs past the end of the file");
        }
        byte[] out = new byte[length];
        for (int i = 0; i < length; i++) {
            out[i] = bytes.get(start + i);
        }
        return out;
    }

    private static int checkedInt(long value) {
        if (value < 0 || value > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("buffer offset or size beyond 2 GB");
        }
        return (int) value;
    }
}
