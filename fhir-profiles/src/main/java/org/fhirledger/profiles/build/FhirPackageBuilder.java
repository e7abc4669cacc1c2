package org.fhirledger.profiles.build;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/**
 * Build step (run by Maven, see fhir-profiles/pom.xml): packs the gateway's conformance resources into a
 * standard FHIR NPM package ({@code package/package.json}, {@code package/.index.json},
 * {@code package/<Type>-<id>.json}), so that any FHIR validator or IG tool can load the gateway's definitions.
 *
 * <p>The archive is reproducible: entries are sorted and carry a fixed time, so one source gives one byte stream.
 *
 * <p>Arguments: {@code <source dir> <output .tgz> <package name> <version> [<copy of output>...]}. The source
 * directory's {@code *.json} files that are FHIR resources with a {@code url} go into the package.
 */
public final class FhirPackageBuilder {

  /** The FHIR R4 core package the gateway's definitions build on. */
  static final String CORE_PACKAGE = "hl7.fhir.r4.core";
  static final String CORE_VERSION = "4.0.1";
  private static final FileTime FIXED_TIME = FileTime.fromMillis(1_700_000_000_000L);

  private FhirPackageBuilder() {}

  public static void main(String[] args) throws IOException {
    if (args.length < 4) {
      throw new IllegalArgumentException("usage: <source dir> <output .tgz> <package name> <version> [<copy>...]");
    }
    Path source = Path.of(args[0]);
    Path output = Path.of(args[1]);
    byte[] tgz = build(source, args[2], args[3]);
    write(output, tgz);
    for (int i = 4; i < args.length; i++) {
      write(Path.of(args[i]), tgz);
    }
  }

  /**
   * The package's bytes (gzipped tar) from the FHIR resources in {@code source}.
   *
   * @throws IOException if a source file cannot be read or is not JSON
   * @throws IllegalArgumentException if there is no resource, or a resource lacks resourceType, id or url
   */
  public static byte[] build(Path source, String name, String version) throws IOException {
    ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    Map<String, byte[]> files = new TreeMap<>();
    List<ObjectNode> index = new ArrayList<>();
    List<Path> sources;
    try (Stream<Path> list = Files.list(source)) {
      sources = list.filter(p -> p.getFileName().toString().endsWith(".json")).sorted().toList();
    }
    for (Path file : sources) {
      byte[] bytes = Files.readAllBytes(file);
      JsonNode resource = json.readTree(bytes);
      String type = text(resource, "resourceType", file);
      String id = text(resource, "id", file);
      String url = text(resource, "url", file);
      String fileName = type + "-" + id + ".json";
      files.put("package/" + fileName, bytes);
      ObjectNode entry = json.createObjectNode()
          .put("filename", fileName).put("resourceType", type).put("id", id).put("url", url);
      copyIfPresent(resource, entry, "version");
      copyIfPresent(resource, entry, "kind");
      copyIfPresent(resource, entry, "type");
      index.add(entry);
    }
    if (index.isEmpty()) {
      throw new IllegalArgumentException("no FHIR resources in " + source);
    }
    ObjectNode indexJson = json.createObjectNode().put("index-version", 1);
    indexJson.putArray("files").addAll(index);
    files.put("package/.index.json", json.writeValueAsBytes(indexJson));

    ObjectNode pkg = json.createObjectNode()
        .put("name", name)
        .put("version", version)
        .put("description", "The FHIR ledger gateway's own definitions: its Provenance, AuditEvent and Consent "
            + "profiles, the ledger extensions, and its CapabilityStatement")
        .put("canonical", "https://fhirledger.org/fhir")
        .put("url", "https://fhirledger.org/fhir")
        .put("type", "fhir.ig")
        .put("license", "CC0-1.0")
        .put("author", "fhirledger.org");
    ((ArrayNode) pkg.putArray("fhirVersions")).add(CORE_VERSION);
    pkg.putObject("dependencies").put(CORE_PACKAGE, CORE_VERSION);
    files.put("package/package.json", json.writeValueAsBytes(pkg));

    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    try (TarArchiveOutputStream tar = new TarArchiveOutputStream(new GZIPOutputStream(out))) {
      tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
      for (Map.Entry<String, byte[]> f : files.entrySet()) {
        TarArchiveEntry entry = new TarArchiveEntry(f.getKey());
        entry.setSize(f.getValue().length);
        entry.setMode(0644);
        entry.setLastModifiedTime(FIXED_TIME);
        tar.putArchiveEntry(entry);
        tar.write(f.getValue());
        tar.closeArchiveEntry();
      }
    }
    return out.toByteArray();
  }

  private static String text(JsonNode resource, String field, Path file) {
    JsonNode value = resource.get(field);
    if (value == null || !value.isTextual() || value.asText().isBlank()) {
      throw new IllegalArgumentException(file.getFileName() + " has no " + field + ": not a conformance resource");
    }
    return value.asText();
  }

  private static void copyIfPresent(JsonNode from, ObjectNode to, String field) {
    JsonNode value = from.get(field);
    if (value != null && value.isTextual()) {
      to.put(field, value.asText());
    }
  }

  private static void write(Path target, byte[] bytes) throws IOException {
    Files.createDirectories(target.toAbsolutePath().getParent());
    try (OutputStream out = Files.newOutputStream(target)) {
      out.write(bytes);
    }
  }
}
