package org.fhirledger.ledger.raft;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.fhirledger.ledger.note.NoteSigner;

/**
 * A Raft member in its own JVM, for tests that kill a member's process: {@code <memberId> <id=host:port,...>
 * <dataRoot> <group key file>}. Prints {@code READY} once started, then runs until stdin closes or it is killed.
 */
public final class MemberProcess {
  private MemberProcess() {}

  public static void main(String[] args) throws Exception {
    Map<String, String> peers = new LinkedHashMap<>();
    for (String p : args[1].split(",")) {
      String[] kv = p.split("=", 2);
      peers.put(kv[0], kv[1]);
    }
    NoteSigner signer = NoteSigner.parse(Files.readString(Path.of(args[3])).trim());
    try (Members.Member member = Members.start(Members.config(args[0], peers, Path.of(args[2])), signer, 1024)) {
      System.out.println("READY");
      System.out.flush();
      BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
      while (in.readLine() != null) {
        // keep running until the parent closes stdin or kills this process
      }
    }
  }
}
