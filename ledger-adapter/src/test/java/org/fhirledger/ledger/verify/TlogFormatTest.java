package org.fhirledger.ledger.verify;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.bouncycastle.crypto.params.Ed25519PublicKeyParameters;
import org.bouncycastle.crypto.signers.Ed25519Signer;
import org.fhirledger.ledger.AppendResult;
import org.fhirledger.ledger.Ledger;
import org.fhirledger.ledger.LedgerOptions;
import org.fhirledger.ledger.Ledgers;
import org.fhirledger.ledger.jdbc.JdbcLedgerStorage;
import org.fhirledger.ledger.merkle.ReferenceTree;
import org.fhirledger.ledger.note.NoteSigner;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Builds a small log and checks the exact bytes and paths the C2SP specs describe, computed here independently with
 * plain SHA-256 and Ed25519, then serves it over HTTP at tlog-tiles paths and verifies it with the CLI.
 */
class TlogFormatTest {
  static final String ORIGIN = "format.test.example/log";

  @TempDir
  Path dir;

  static byte[] entry(int i) {
    return ("format entry " + i).getBytes(StandardCharsets.UTF_8);
  }

  static byte[] sha256(byte[]... parts) throws Exception {
    MessageDigest md = MessageDigest.getInstance("SHA-256");
    for (byte[] p : parts) {
      md.update(p);
    }
    return md.digest();
  }

  Ledger buildLog(NoteSigner signer, int... batches) throws Exception {
    Ledger ledger = Ledgers.open(JdbcLedgerStorage.open(JdbcLedgerStorage.h2(dir), Clock.systemUTC()), signer,
        LedgerOptions.defaults().withMaxBatchSize(1000));
    int next = 0;
    for (int b : batches) {
      List<CompletableFuture<AppendResult>> fs = new ArrayList<>();
      for (int i = 0; i < b; i++) {
        fs.add(ledger.appendAsync(entry(next++)));
      }
      for (var f : fs) {
        f.get();
      }
    }
    return ledger;
  }

  @Test
  void smallLog_tilesBundlesAndCheckpoint_areByteForByteAsSpecified() throws Exception {
    NoteSigner signer = NoteSigner.generate(ORIGIN, new SecureRandom());
    ReferenceTree ref = new ReferenceTree();
    for (int i = 0; i < 259; i++) {
      ref.add(entry(i));
    }
    try (Ledger ledger = buildLog(signer, 3, 256)) {
      // entry bundle 0: uint16 big-endian length-prefixed entries; full at 256, partial .p/3 existed at size 3
      ByteArrayOutputStream bundle = new ByteArrayOutputStream();
      for (int i = 0; i < 3; i++) {
        bundle.write(0);
        bundle.write(entry(i).length);
        bundle.write(entry(i));
      }
      assertArrayEquals(bundle.toByteArray(), ledger.entryBundle(0, 3));
      assertEquals(2 * 256 + Arrays.stream(new int[256]).map(i -> 0).sum()
          + totalLength(0, 256), ledger.entryBundle(0, 256).length);
      assertArrayEquals(bundle.toByteArray(), Arrays.copyOf(ledger.entryBundle(0, 256), bundle.size()));
      // level-0 tile 0: leaf hashes SHA-256(0x00 || entry), 32 bytes each
      ByteArrayOutputStream tile0 = new ByteArrayOutputStream();
      for (int i = 0; i < 256; i++) {
        tile0.write(sha256(new byte[] {0}, entry(i)));
      }
      assertArrayEquals(tile0.toByteArray(), ledger.tile(0, 0, 256));
      assertArrayEquals(Arrays.copyOf(tile0.toByteArray(), 96), ledger.tile(0, 0, 3));
      // size 259: partial level-0 tile 1 of width 3, partial level-1 tile 0 of width 1 = MTH(entries 0..255)
      assertArrayEquals(concat(sha256(new byte[] {0}, entry(256)), sha256(new byte[] {0}, entry(257)),
          sha256(new byte[] {0}, entry(258))), ledger.tile(0, 1, 3));
      assertArrayEquals(ref.root(256), ledger.tile(1, 0, 1));
      // checkpoint: origin, size, base64 root, blank line, one Ed25519 signature line by the origin's key
      var cp = ledger.latestCheckpoint();
      String text = ORIGIN + "\n259\n" + Base64.getEncoder().encodeToString(ref.root(259)) + "\n";
      Matcher m = Pattern.compile(Pattern.quote(text) + "\n\u2014 " + Pattern.quote(ORIGIN) + " ([A-Za-z0-9+/=]+)\n")
          .matcher(cp.signedNote());
      assertTrue(m.matches(), cp.signedNote());
      byte[] sig = Base64.getDecoder().decode(m.group(1));
      assertEquals(68, sig.length);
      byte[] pub = signer.verifier().publicKey();
      byte[] keyId = Arrays.copyOf(sha256(ORIGIN.getBytes(StandardCharsets.UTF_8), new byte[] {0x0A, 0x01}, pub), 4);
      assertArrayEquals(keyId, Arrays.copyOf(sig, 4));
      Ed25519Signer v = new Ed25519Signer();
      v.init(false, new Ed25519PublicKeyParameters(pub, 0));
      byte[] msg = text.getBytes(StandardCharsets.UTF_8);
      v.update(msg, 0, msg.length);
      assertTrue(v.verifySignature(Arrays.copyOfRange(sig, 4, 68)));
      assertEquals(ORIGIN + "+" + java.util.HexFormat.of().formatHex(keyId) + "+"
          + Base64.getEncoder().encodeToString(concat(new byte[] {1}, pub)), signer.verifier().vkey());
    }
  }

  private static int totalLength(int from, int to) {
    int n = 0;
    for (int i = from; i < to; i++) {
      n += entry(i).length;
    }
    return n;
  }

  private static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] p : parts) {
      out.writeBytes(p);
    }
    return out.toByteArray();
  }

  /** Serves the ledger at tlog-tiles paths: checkpoint, tile/L/N[.p/W], tile/entries/N[.p/W]. */
  static HttpServer serve(Ledger ledger) throws Exception {
    HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    Pattern tile = Pattern.compile("/log/tile/(entries|\\d+)/((?:x\\d{3}/)*\\d{3})(?:\\.p/(\\d+))?");
    server.createContext("/log/", ex -> {
      String path = ex.getRequestURI().getPath();
      byte[] body;
      int status = 200;
      try {
        if (path.equals("/log/checkpoint")) {
          body = ledger.latestCheckpoint().signedNote().getBytes(StandardCharsets.UTF_8);
        } else {
          Matcher m = tile.matcher(path);
          if (!m.matches()) {
            throw new IllegalArgumentException(path);
          }
          long index = Long.parseLong(m.group(2).replace("x", "").replace("/", ""));
          int width = m.group(3) == null ? 256 : Integer.parseInt(m.group(3));
          body = m.group(1).equals("entries") ? ledger.entryBundle(index, width)
              : ledger.tile(Integer.parseInt(m.group(1)), index, width);
        }
      } catch (Exception e) {
        status = 404;
        body = e.toString().getBytes(StandardCharsets.UTF_8);
      }
      ex.sendResponseHeaders(status, body.length);
      ex.getResponseBody().write(body);
      ex.close();
    });
    server.start();
    return server;
  }

  @Test
  void verifyCommand_overHttp_acceptsTheLog() throws Exception {
    NoteSigner signer = NoteSigner.generate(ORIGIN, new SecureRandom());
    try (Ledger ledger = buildLog(signer, 5, 300, 70)) {
      HttpServer server = serve(ledger);
      try {
        String prefix = "http://" + server.getAddress().getHostString() + ":" + server.getAddress().getPort() + "/log/";
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int code = VerifyCommand.run(new String[] {"--vkey", signer.verifier().vkey(), "--url", prefix},
            new PrintStream(out, true, StandardCharsets.UTF_8), System.err);
        assertEquals(0, code, out.toString(StandardCharsets.UTF_8));
        assertTrue(out.toString(StandardCharsets.UTF_8).startsWith("OK: " + ORIGIN + " tree size 375"), out.toString());
      } finally {
        server.stop(0);
      }
    }
  }

  @Test
  void verifyCommand_overHttpWithAnotherKey_failsNamingTheKey() throws Exception {
    NoteSigner signer = NoteSigner.generate(ORIGIN, new SecureRandom());
    NoteSigner impostor = NoteSigner.generate(ORIGIN, new SecureRandom());
    try (Ledger ledger = buildLog(signer, 10)) {
      HttpServer server = serve(ledger);
      try {
        String prefix = "http://" + server.getAddress().getHostString() + ":" + server.getAddress().getPort() + "/log/";
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int code = VerifyCommand.run(new String[] {"--vkey", impostor.verifier().vkey(), "--url", prefix},
            new PrintStream(out, true, StandardCharsets.UTF_8), System.err);
        assertEquals(1, code);
        assertTrue(out.toString(StandardCharsets.UTF_8).contains("no signature by key " + ORIGIN), out.toString());
      } finally {
        server.stop(0);
      }
    }
  }

  @Test
  void verifyCommand_jdbcWithHistory_acceptsTheLogAndUsageErrorsExit2() throws Exception {
    NoteSigner signer = NoteSigner.generate(ORIGIN, new SecureRandom());
    try (Ledger ledger = buildLog(signer, 7, 250, 1)) {
      // the H2 database is open in this JVM; the CLI reads it through the same URL
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int code = VerifyCommand.run(new String[] {"--vkey", signer.verifier().vkey(), "--jdbc",
        JdbcLedgerStorage.h2Url(dir), "--history"}, new PrintStream(out, true, StandardCharsets.UTF_8), System.err);
    assertEquals(0, code, out.toString(StandardCharsets.UTF_8));
    assertTrue(out.toString(StandardCharsets.UTF_8).contains("tree size 258"), out.toString());
    assertEquals(2, VerifyCommand.run(new String[] {"--url"}, System.out, new PrintStream(new ByteArrayOutputStream())));
  }
}
