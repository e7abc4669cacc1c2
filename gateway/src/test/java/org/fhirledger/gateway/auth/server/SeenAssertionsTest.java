package org.fhirledger.gateway.auth.server;

import org.fhirledger.gateway.MutableClock;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

class SeenAssertionsTest {

  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

  @Test
  void firstUse_sameJtiTwiceBeforeExpiry_replay() {
    SeenAssertions seen = new SeenAssertions(Clock.fixed(T0, ZoneOffset.UTC), 10);

    assertThat(seen.firstUse("c", "j1", T0.plusSeconds(60))).isEqualTo(SeenAssertions.Use.FIRST);
    assertThat(seen.firstUse("c", "j1", T0.plusSeconds(60))).isEqualTo(SeenAssertions.Use.REPLAY);
    assertThat(seen.firstUse("other", "j1", T0.plusSeconds(60))).isEqualTo(SeenAssertions.Use.FIRST);
  }

  @Test
  void firstUse_full_refusesRatherThanForgetting_untilEntriesExpire() {
    MutableClock clock = new MutableClock(T0);
    SeenAssertions seen = new SeenAssertions(clock, 2);
    seen.firstUse("c", "a", T0.plusSeconds(60));
    seen.firstUse("c", "b", T0.plusSeconds(60));

    assertThat(seen.firstUse("c", "c", T0.plusSeconds(60))).isEqualTo(SeenAssertions.Use.FULL);
    clock.advance(Duration.ofSeconds(61));
    assertThat(seen.firstUse("c", "c", clock.instant().plusSeconds(60))).isEqualTo(SeenAssertions.Use.FIRST);
  }

}
