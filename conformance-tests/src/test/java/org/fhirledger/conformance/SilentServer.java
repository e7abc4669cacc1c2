package org.fhirledger.conformance;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A TCP server on a random loopback port that accepts connections, reads each HTTP request head and
 * never answers: an EHR that has hung. Records the request heads it received, so tests can count how
 * often a request was sent.
 */
final class SilentServer implements AutoCloseable {

  private final ServerSocket server;
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();
  private final List<String> heads = new CopyOnWriteArrayList<>();
  private final Thread acceptor;

  SilentServer() throws IOException {
    server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    acceptor = new Thread(this::acceptLoop, "silent-ehr-acceptor");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  String baseUrl() {
    return "http://127.0.0.1:" + server.getLocalPort() + "/fhir";
  }

  /** The requests received so far: request line, headers, blank line, body. */
  List<String> heads() {
    return List.copyOf(heads);
  }

  private void acceptLoop() {
    while (!server.isClosed()) {
      try {
        Socket s = server.accept();
        sockets.add(s);
        Thread reader = new Thread(() -> readHeads(s), "silent-ehr-conn");
        reader.setDaemon(true);
        reader.start();
      } catch (IOException e) {
        return; // closed
      }
    }
  }

  private void readHeads(Socket s) {
    try (InputStream in = s.getInputStream()) {
      ByteArrayOutputStream head = new ByteArrayOutputStream();
      int b;
      int state = 0; // counts the bytes of "\r\n\r\n" seen in a row
      while ((b = in.read()) >= 0) {
        head.write(b);
        state = (b == '\r' && (state == 0 || state == 2)) || (b == '\n' && (state == 1 || state == 3)) ? state + 1 : 0;
        if (state == 4) {
          String text = head.toString(StandardCharsets.ISO_8859_1);
          head.reset();
          state = 0;
          // Read the body too, so that a next request on this connection starts a new head.
          byte[] body = in.readNBytes((int) contentLength(text));
          heads.add(text + new String(body, StandardCharsets.UTF_8));
        }
      }
    } catch (IOException e) {
      // The client gave up (its read timeout) or we closed: either way, done.
    }
  }

  private static long contentLength(String head) {
    for (String line : head.split("\r\n")) {
      int colon = line.indexOf(':');
      if (colon > 0 && line.substring(0, colon).trim().equalsIgnoreCase("content-length")) {
        return Long.parseLong(line.substring(colon + 1).trim());
      }
    }
    return 0;
  }

  @Override
  public void close() throws IOException {
    server.close();
    List<Socket> open = new ArrayList<>(sockets);
    for (Socket s : open) {
      s.close();
    }
  }
}
