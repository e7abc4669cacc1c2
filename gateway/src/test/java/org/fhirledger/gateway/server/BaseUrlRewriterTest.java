package org.fhirledger.gateway.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class BaseUrlRewriterTest {

  private static final String EHR = "http://127.0.0.1:41234/fhir";
  private static final String GW = "http://gateway.example.org/fhir";
  private final BaseUrlRewriter rewriter = new BaseUrlRewriter(URI.create(EHR + "/"));

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void toGateway_jsonBundle_rewritesEveryWholeBaseUrl() {
    String in = "{\"link\":[{\"relation\":\"next\",\"url\":\"" + EHR + "?_getpages=abc&_count=10\"}],"
        + "\"entry\":[{\"fullUrl\":\"" + EHR + "/Patient/1\"},{\"reference\":\"" + EHR + "\"}]}";
    String out = new String(rewriter.toGateway(utf8(in), "application/fhir+json;charset=UTF-8", GW), StandardCharsets.UTF_8);
    assertEquals(in.replace(EHR, GW), out);
  }

  @Test
  void toGateway_lookalikeUrls_leftAlone() {
    String in = "<system value=\"" + EHR + "2/ids\"/><system value=\"http://127.0.0.1:41234/other\"/>";
    assertArrayEquals(utf8(in), rewriter.toGateway(utf8(in), "application/fhir+xml", GW));
  }

  @Test
  void toGateway_binaryContent_untouched() {
    byte[] body = utf8("PNG..." + EHR + "/Patient/1");
    assertSame(body, rewriter.toGateway(body, "image/png", GW));
  }

  @Test
  void toGateway_header_rewritesLocation() {
    assertEquals(GW + "/Patient/1/_history/2", rewriter.toGateway(EHR + "/Patient/1/_history/2", GW + "/"));
  }

  @Test
  void toUpstream_requestBody_rewritesGatewayReferences() {
    String in = "{\"subject\":{\"reference\":\"" + GW + "/Patient/1\"}}";
    byte[] out = rewriter.toUpstream(utf8(in), "application/fhir+json", GW);
    assertArrayEquals(utf8(in.replace(GW, EHR)), out);
  }

  @Test
  void replace_atEndOfInput_replaced() {
    assertArrayEquals(utf8("x " + GW), BaseUrlRewriter.replace(utf8("x " + EHR), utf8(EHR), utf8(GW)));
  }
}
