package org.fhirledger.conformance.ledger;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A real TCP relay between the gateway and the EHR on a loopback port of its own. It forwards every request; while
 * {@linkplain #withholdWriteResponses armed}, it drops the EHR's response to every write (any method but GET and
 * HEAD), so the EHR has stored the write but the gateway never hears back: the window between forward and outcome.
 *
 * <p>It reads just enough HTTP/1.1 of each request (head, {@code Content-Length} body) to find where the next one
 * starts on a kept-alive connection; a chunked request body switches that connection to plain copying.
 */
final class WithholdingRelay implements AutoCloseable {

  private final ServerSocket server;
  private final InetSocketAddress target;
  private final AtomicBoolean armed = new AtomicBoolean();
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();
  private final Thread acceptor;

  WithholdingRelay(InetSocketAddress target) throws IOException {
    this.target = target;
    this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    this.acceptor = Thread.ofVirtual().name("relay-accept").start(this::acceptLoop);
  }

  int port() {
    return server.getLocalPort();
  }

  /** From now on, responses to writes are dropped (the requests still reach the EHR). */
  void withholdWriteResponses(boolean on) {
    armed.set(on);
  }

  private void acceptLoop() {
    while (!server.isClosed()) {
      try {
        Socket client = server.accept();
        Socket upstream = new Socket(target.getAddress(), target.getPort());
        sockets.add(client);
        sockets.add(upstream);
        AtomicBoolean withheld = new AtomicBoolean();
        Thread.ofVirtual().start(() -> requests(client, upstream, withheld));
        Thread.ofVirtual().start(() -> responses(upstream, client, withheld));
      } catch (IOException e) {
        return;
      }
    }
  }

  private void requests(Socket client, Socket upstream, AtomicBoolean withheld) {
    try (InputStream in = new BufferedInputStream(client.getInputStream());
        OutputStream out = upstream.getOutputStream()) {
      while (true) {
        byte[] head = readHead(in);
        if (head == null) {
          return;
        }
        String text = new String(head, StandardCharsets.ISO_8859_1);
        String method = text.substring(0, Math.max(0, text.indexOf(' ')));
        if (armed.get() && !method.equals("GET") && !method.equals("HEAD")) {
          withheld.set(true); // before the EHR can answer
        }
        out.write(head);
        String lower = text.toLowerCase(Locale.ROOT);
        if (lower.contains("transfer-encoding: chunked")) {
          in.transferTo(out);
          return;
        }
        long length = contentLength(lower);
        byte[] buffer = new byte[8192];
        while (length > 0) {
          int n = in.read(buffer, 0, (int) Math.min(buffer.length, length));
          if (n < 0) {
            return;
          }
          out.write(buffer, 0, n);
          length -= n;
        }
        out.flush();
      }
    } catch (IOException e) {
      // Connection closed by either side.
    } finally {
      closeQuietly(upstream);
    }
  }

  private void responses(Socket upstream, Socket client, AtomicBoolean withheld) {
    try (InputStream in = upstream.getInputStream(); OutputStream out = client.getOutputStream()) {
      byte[] buffer = new byte[8192];
      int n;
      while ((n = in.read(buffer)) >= 0) {
        if (!withheld.get()) {
          out.write(buffer, 0, n);
          out.flush();
        }
      }
    } catch (IOException e) {
      // Connection closed by either side.
    } finally {
      if (!withheld.get()) {
        closeQuietly(client);
      }
    }
  }

  /** The request head up to and including the blank line; null at end of stream. */
  private static byte[] readHead(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    int last4 = 0;
    int b;
    while ((b = in.read()) >= 0) {
      head.write(b);
      last4 = (last4 << 8) | b;
      if (last4 == 0x0D0A0D0A) {
        return head.toByteArray();
      }
    }
    return null;
  }

  private static long contentLength(String lowerHead) {
    for (String line : lowerHead.split("\r\n")) {
      if (line.startsWith("content-length:")) {
        return Long.parseLong(line.substring("content-length:".length()).trim());
      }
    }
    return 0;
  }

  private static void closeQuietly(Socket s) {
    try {
      s.close();
    } catch (IOException ignored) {
      // closing anyway
    }
  }

  @Override
  public void close() throws IOException {
    server.close();
    for (Socket s : sockets) {
      closeQuietly(s);
    }
  }
}
