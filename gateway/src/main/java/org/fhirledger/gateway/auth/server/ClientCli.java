package org.fhirledger.gateway.auth.server;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.io.BufferedReader;
import java.io.Console;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Date;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.springframework.security.crypto.bcrypt.BCryptPasswordEncoder;

/**
 * Command line for the embedded authorization server's clients:
 *
 * <pre>
 * register --client-id ID [--alg ES384|RS384] [--key-out FILE] [--scope "system/*.rs ..."]
 *          [--name NAME] [--organization Organization/x] [--fhir-user Device/y] [--jwks-uri URL]
 *          [--clients-file data/smart-clients.json] [--gateway http://localhost:8080]
 * token    --client-id ID --key FILE [--token-url URL | --gateway URL] [--scope "system/*.rs"] [--json]
 * assertion --client-id ID --key FILE --aud TOKEN_URL
 * user     --username NAME [--fhir-user Practitioner/x] [--clients-file FILE]   (password read from the console or stdin)
 * </pre>
 *
 * Run it from the gateway's executable jar:
 * {@code java -cp gateway/target/gateway-exec.jar -Dloader.main=org.fhirledger.gateway.auth.server.ClientCli
 * org.springframework.boot.loader.launch.PropertiesLauncher <command> ...}. A running gateway picks up
 * a changed clients file by itself.
 */
public final class ClientCli {

  private final PrintStream out;
  private final PrintStream err;

  public ClientCli(PrintStream out, PrintStream err) {
    this.out = out;
    this.err = err;
  }

  public static void main(String[] args) {
    System.exit(new ClientCli(System.out, System.err).run(args));
  }

  /** Runs one command; returns the process exit status (0 success, 1 failure, 2 usage error). */
  public int run(String... args) {
    if (args.length == 0) {
      return usage("a command is required");
    }
    Map<String, String> options;
    try {
      options = options(Arrays.copyOfRange(args, 1, args.length));
    } catch (IllegalArgumentException e) {
      return usage(e.getMessage());
    }
    try {
      return switch (args[0]) {
        case "register" -> register(options);
        case "token" -> token(options);
        case "assertion" -> {
          out.println(assertion(required(options, "client-id"), ClientKeys.read(Path.of(required(options, "key"))),
              required(options, "aud")));
          yield 0;
        }
        case "user" -> user(options);
        default -> usage("unknown command " + args[0]);
      };
    } catch (IllegalArgumentException e) {
      return usage(e.getMessage());
    } catch (IOException | JOSEException | RuntimeException e) {
      err.println("error: " + e.getMessage());
      return 1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 1;
    }
  }

  private int register(Map<String, String> o) throws IOException {
    String clientId = required(o, "client-id");
    Path clientsFile = Path.of(o.getOrDefault("clients-file", "data/smart-clients.json"));
    String gateway = o.getOrDefault("gateway", "http://localhost:8080");
    List<String> scopes = List.of(o.getOrDefault("scope", "system/*.rs").trim().split("\\s+"));
    ClientsFile current = Files.exists(clientsFile) ? ClientsFile.read(clientsFile) : new ClientsFile(List.of(), List.of());
    Path keyOut = null;
    Map<String, Object> jwks = null;
    URI jwksUri = o.containsKey("jwks-uri") ? URI.create(o.get("jwks-uri")) : null;
    if (jwksUri == null) {
      JWSAlgorithm alg = JWSAlgorithm.parse(o.getOrDefault("alg", "ES384"));
      JWK key = ClientKeys.generate(alg);
      keyOut = Path.of(o.getOrDefault("key-out", clientId + ".key.pem"));
      if (Files.exists(keyOut)) {
        throw new IllegalArgumentException(keyOut + " exists already; choose another --key-out");
      }
      ClientKeys.write(key, keyOut);
      jwks = new JWKSet(key.toPublicJWK()).toJSONObject();
    }
    SmartClient client = new SmartClient(clientId, o.get("name"), scopes, List.of(SmartClient.CLIENT_CREDENTIALS),
        List.of(), jwks, jwksUri, SmartClient.PRIVATE_KEY_JWT, null, o.get("organization"), o.get("fhir-user"));
    current.with(client).write(clientsFile);
    out.println("Registered client '" + clientId + "' in " + clientsFile.toAbsolutePath());
    if (keyOut == null) {
      out.println("Its keys are fetched from " + jwksUri + " (RS384 or ES384).");
      return 0;
    }
    String tokenUrl = gateway + "/oauth2/token";
    String cli = "java -cp gateway/target/gateway-exec.jar -Dloader.main=" + ClientCli.class.getName()
        + " org.springframework.boot.loader.launch.PropertiesLauncher";
    out.println("Private key (keep it secret, mode 0600): " + keyOut.toAbsolutePath());
    out.println();
    out.println("Get an access token:");
    out.println("  " + cli + " token --client-id " + clientId + " --key " + keyOut + " --token-url " + tokenUrl
        + " --scope '" + String.join(" ", scopes) + "'");
    out.println();
    out.println("or with curl:");
    out.println("  curl -s " + tokenUrl + " -d grant_type=client_credentials --data-urlencode 'scope="
        + String.join(" ", scopes) + "' -d client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        + " -d client_assertion=$(" + cli + " assertion --client-id " + clientId + " --key " + keyOut + " --aud " + tokenUrl + ")");
    return 0;
  }

  private int token(Map<String, String> o) throws IOException, JOSEException, InterruptedException {
    String clientId = required(o, "client-id");
    JWK key = ClientKeys.read(Path.of(required(o, "key")));
    String tokenUrl = o.getOrDefault("token-url", o.getOrDefault("gateway", "http://localhost:8080") + "/oauth2/token");
    String scope = o.getOrDefault("scope", "system/*.rs");
    String form = "grant_type=client_credentials"
        + "&scope=" + URLEncoder.encode(scope, StandardCharsets.UTF_8)
        + "&client_assertion_type=" + URLEncoder.encode("urn:ietf:params:oauth:client-assertion-type:jwt-bearer", StandardCharsets.UTF_8)
        + "&client_assertion=" + assertion(clientId, key, tokenUrl);
    HttpResponse<String> response;
    try (HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build()) {
      response = http.send(HttpRequest.newBuilder(URI.create(tokenUrl)).timeout(Duration.ofSeconds(30))
          .header("Content-Type", "application/x-www-form-urlencoded").header("Accept", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString(form)).build(), HttpResponse.BodyHandlers.ofString());
    }
    if (response.statusCode() != 200) {
      err.println("token request refused: HTTP " + response.statusCode() + " " + response.body());
      return 1;
    }
    if (o.containsKey("json")) {
      out.println(response.body());
      return 0;
    }
    @SuppressWarnings("unchecked")
    Map<String, Object> body = new com.fasterxml.jackson.databind.ObjectMapper().readValue(response.body(), HashMap.class);
    out.println(body.get("access_token"));
    return 0;
  }

  /** A fresh client assertion (RFC 7523) for {@code aud}, valid for 4 minutes. */
  static String assertion(String clientId, JWK key, String aud) throws JOSEException {
    JWSAlgorithm alg = ClientKeys.algorithm(key);
    JWSSigner signer = key instanceof RSAKey rsa ? new RSASSASigner(rsa) : new ECDSASigner((ECKey) key);
    Instant now = Instant.now();
    SignedJWT jwt = new SignedJWT(
        new JWSHeader.Builder(alg).keyID(key.getKeyID()).type(JOSEObjectType.JWT).build(),
        new JWTClaimsSet.Builder().issuer(clientId).subject(clientId).audience(aud)
            .expirationTime(Date.from(now.plusSeconds(240))).issueTime(Date.from(now)).jwtID(UUID.randomUUID().toString())
            .build());
    jwt.sign(signer);
    return jwt.serialize();
  }

  private int user(Map<String, String> o) throws IOException {
    String username = required(o, "username");
    Path clientsFile = Path.of(o.getOrDefault("clients-file", "data/smart-clients.json"));
    String password = readPassword();
    if (password == null || password.length() < 12) {
      throw new IllegalArgumentException("a password of at least 12 characters is required");
    }
    SmartUser user = new SmartUser(username, new BCryptPasswordEncoder().encode(password), o.get("fhir-user"));
    ClientsFile current = Files.exists(clientsFile) ? ClientsFile.read(clientsFile) : new ClientsFile(List.of(), List.of());
    current.with(user).write(clientsFile);
    out.println("User '" + username + "' written to " + clientsFile.toAbsolutePath() + " (bcrypt hash only)");
    return 0;
  }

  private static String readPassword() throws IOException {
    Console console = System.console();
    if (console != null) {
      char[] p = console.readPassword("Password: ");
      return p == null ? null : new String(p);
    }
    return new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
  }

  private static Map<String, String> options(String[] args) {
    Map<String, String> o = new HashMap<>();
    for (int i = 0; i < args.length; i++) {
      if (!args[i].startsWith("--")) {
        throw new IllegalArgumentException("unexpected argument " + args[i]);
      }
      String name = args[i].substring(2);
      if (name.equals("json")) {
        o.put(name, "true");
      } else if (i + 1 < args.length) {
        o.put(name, args[++i]);
      } else {
        throw new IllegalArgumentException("--" + name + " needs a value");
      }
    }
    return o;
  }

  private static String required(Map<String, String> o, String name) {
    String v = o.get(name);
    if (v == null || v.isBlank()) {
      throw new IllegalArgumentException("--" + name + " is required");
    }
    return v;
  }

  private int usage(String problem) {
    err.println("error: " + problem);
    err.println("""
        usage: ClientCli register --client-id ID [--alg ES384|RS384] [--key-out FILE] [--scope "system/*.rs"]
                                  [--name NAME] [--organization Organization/x] [--fhir-user Device/y]
                                  [--jwks-uri URL] [--clients-file data/smart-clients.json] [--gateway http://localhost:8080]
               ClientCli token --client-id ID --key FILE [--token-url URL | --gateway URL] [--scope "system/*.rs"] [--json]
               ClientCli assertion --client-id ID --key FILE --aud TOKEN_URL
               ClientCli user --username NAME [--fhir-user Practitioner/x] [--clients-file FILE]  (password on stdin)""");
    return 2;
  }
}
