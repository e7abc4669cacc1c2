package org.fhirledger.gateway.consent;

import ca.uhn.fhir.model.api.TemporalPrecisionEnum;
import org.hl7.fhir.r4.model.BaseDateTimeType;
import org.hl7.fhir.r4.model.Period;

/**
 * A half-open time interval {@code [start, end)} in epoch milliseconds; {@link Long#MIN_VALUE} / {@link Long#MAX_VALUE}
 * stand for an open start or end.
 *
 * <p>FHIR dates are intervals at their precision: {@code 2025-03-01} is the whole day (in the time zone given, else
 * the JVM's), so as an end it runs to the start of the next day. A value with seconds or milliseconds is exact: an end
 * of {@code 10:00:00Z} stops applying at 10:00:00.000Z.
 */
record Interval(long start, long end) {

  static final Interval ALL = new Interval(Long.MIN_VALUE, Long.MAX_VALUE);

  /** The interval a Period covers; a missing bound is open. */
  static Interval of(Period period) {
    long start = period.getStart() != null ? period.getStart().getTime() : Long.MIN_VALUE;
    long end = period.getEnd() != null ? endOf(period.getEndElement()) : Long.MAX_VALUE;
    return new Interval(start, end);
  }

  /** The interval a single date or dateTime covers: its whole precision unit ({@code [t, t+1ms)} when exact). */
  static Interval of(BaseDateTimeType dateTime) {
    long start = dateTime.getValue().getTime();
    long end = exact(dateTime) ? start + 1 : endOf(dateTime);
    return new Interval(start, end);
  }

  private static boolean exact(BaseDateTimeType t) {
    return t.getPrecision() == TemporalPrecisionEnum.SECOND || t.getPrecision() == TemporalPrecisionEnum.MILLI;
  }

  private static long endOf(BaseDateTimeType t) {
    if (exact(t)) {
      return t.getValue().getTime();
    }
    return t.getPrecision().add(t.getValue(), 1).getTime();
  }

  boolean contains(long instant) {
    return start <= instant && instant < end;
  }

  boolean contains(Interval other) {
    return start <= other.start && other.end <= end;
  }

  boolean overlaps(Interval other) {
    return start < other.end && other.start < end;
  }
}
