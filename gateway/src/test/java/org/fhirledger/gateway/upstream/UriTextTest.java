package org.fhirledger.gateway.upstream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import org.junit.jupiter.api.Test;

class UriTextTest {

  @Test
  void encodeIllegal_legalPath_returnedAsIs() {
    String s = "/Observation?code=http%3A%2F%2Floinc.org%7C1234-5&_count=10";
    assertSame(s, UriText.encodeIllegal(s));
  }

  @Test
  void encodeIllegal_rawPipeSpaceAndUnicode_percentEncoded() {
    assertEquals("/Patient?identifier=urn:sys%7C12&name=Ren%C3%A9%20X",
        UriText.encodeIllegal("/Patient?identifier=urn:sys|12&name=René X"));
  }
}
