package org.fhirledger.ledger.raft;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;

/**
 * The bytes exchanged through Raft: a proposed batch (one Raft log entry), its reply, and the read-only queries a
 * member uses to catch up from the leader. Every message starts with a type byte. Stateless.
 */
final class Messages {
  static final byte BATCH = 'A';
  static final byte QUERY_STATE = 'S';
  static final byte QUERY_BATCHES = 'B';

  private Messages() {}

  /** The state a leader reports to a member that catches up: consensus position, tree size and checkpoint. */
  record State(long term, long index, long size, String checkpointNote) {}

  /** Where a batch went: its first index and the signed checkpoint of the tree that includes it. */
  record Committed(long firstIndex, String checkpointNote) {}

  static Message batch(List<byte[]> entries) {
    return Message.valueOf(write(out -> {
      out.writeByte(BATCH);
      writeEntries(out, entries);
    }));
  }

  static List<byte[]> readBatch(ByteString data) {
    return read(data, in -> {
      expect(in, BATCH);
      return readEntries(in);
    });
  }

  static Message committed(long firstIndex, String note) {
    return Message.valueOf(write(out -> {
      out.writeLong(firstIndex);
      out.writeUTF(note);
    }));
  }

  static Committed readCommitted(ByteString data) {
    return read(data, in -> new Committed(in.readLong(), in.readUTF()));
  }

  static Message stateQuery() {
    return Message.valueOf(ByteString.copyFrom(new byte[] {QUERY_STATE}));
  }

  static Message state(State s) {
    return Message.valueOf(write(out -> {
      out.writeLong(s.term());
      out.writeLong(s.index());
      out.writeLong(s.size());
      out.writeUTF(s.checkpointNote());
    }));
  }

  static State readState(ByteString data) {
    return read(data, in -> new State(in.readLong(), in.readLong(), in.readLong(), in.readUTF()));
  }

  /** Asks for the batches that start at {@code from} and end at or before {@code to}. */
  static Message batchesQuery(long from, long to) {
    return Message.valueOf(write(out -> {
      out.writeByte(QUERY_BATCHES);
      out.writeLong(from);
      out.writeLong(to);
    }));
  }

  static long[] readBatchesQuery(ByteString data) {
    return read(data, in -> {
      expect(in, QUERY_BATCHES);
      return new long[] {in.readLong(), in.readLong()};
    });
  }

  static Message batches(List<List<byte[]>> batches) {
    return Message.valueOf(write(out -> {
      out.writeInt(batches.size());
      for (List<byte[]> b : batches) {
        writeEntries(out, b);
      }
    }));
  }

  static List<List<byte[]>> readBatches(ByteString data) {
    return read(data, in -> {
      int n = in.readInt();
      List<List<byte[]>> out = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        out.add(readEntries(in));
      }
      return out;
    });
  }

  private static void writeEntries(DataOutputStream out, List<byte[]> entries) throws IOException {
    out.writeInt(entries.size());
    for (byte[] e : entries) {
      out.writeShort(e.length);
      out.write(e);
    }
  }

  private static List<byte[]> readEntries(DataInputStream in) throws IOException {
    int n = in.readInt();
    if (n < 0) {
      throw new IOException("negative entry count");
    }
    List<byte[]> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      byte[] e = new byte[in.readUnsignedShort()];
      in.readFully(e);
      out.add(e);
    }
    return out;
  }

  private static void expect(DataInputStream in, byte type) throws IOException {
    byte t = in.readByte();
    if (t != type) {
      throw new IOException("expected message type " + (char) type + ", got " + t);
    }
  }

  private interface Writer {
    void write(DataOutputStream out) throws IOException;
  }

  private interface Reader<T> {
    T read(DataInputStream in) throws IOException;
  }

  private static ByteString write(Writer w) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      w.write(out);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return ByteString.copyFrom(bytes.toByteArray());
  }

  private static <T> T read(ByteString data, Reader<T> r) {
    try (DataInputStream in = new DataInputStream(data.newInput())) {
      T t = r.read(in);
      if (in.available() > 0) {
        throw new IOException(in.available() + " trailing bytes");
      }
      return t;
    } catch (IOException e) {
      throw new IllegalArgumentException("malformed replication message: " + e.getMessage(), e);
    }
  }
}
