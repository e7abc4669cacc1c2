package org.fhirledger.gateway.audit;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Objects;
import java.util.TreeMap;
import org.fhirledger.ledger.Ledger;
import org.fhirledger.ledger.LedgerEntry;
import org.fhirledger.ledger.LedgerUnavailableException;
import org.fhirledger.ledger.entry.EntryCodec;
import org.fhirledger.ledger.entry.EntryRecord;
import org.fhirledger.ledger.entry.EntryType;
import org.fhirledger.ledger.entry.Pseudonym;
import org.hl7.fhir.r4.model.AuditEvent.AuditEventAction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An in-memory index of the ledger's completed interactions (INTERACTION and OUTCOME entries;
 * intents are not audit events until their outcome is recorded), keyed by patient pseudonym,
 * agent, resource, BALP action and time, so a query costs the size of its smallest matching key,
 * never a scan of the log.
 *
 * <p>The ledger is the only source of truth: the index is derived from it and never persisted. It
 * is built on the first query after start (one pass over the log, 4096 entries per read) and
 * brought up to date before every query by reading only the entries appended since (up to the
 * latest checkpoint), so it survives restarts by construction and cannot disagree with the log.
 * Memory: about 8 bytes per log entry for the time table plus 8 bytes per posting.
 *
 * <p>Thread-safe: queries and catch-up are serialised on this object; a query is a few array
 * walks, the expensive part (rendering AuditEvents) happens outside.
 */
final class AuditIndex {

  private static final Logger log = LoggerFactory.getLogger(AuditIndex.class);
  private static final int READ_BATCH = 4096;

  private final Ledger ledger;
  private long indexedSize;
  private long[] timeByIndex = new long[1024];
  private final LongList all = new LongList();
  private final Map<Pseudonym, LongList> byPatient = new HashMap<>();
  private final Map<String, LongList> byAgent = new HashMap<>();
  private final Map<String, LongList> byEntity = new HashMap<>();
  private final Map<AuditEventAction, LongList> byAction = new EnumMap<>(AuditEventAction.class);
  private final NavigableMap<Long, LongList> byTime = new TreeMap<>();

  AuditIndex(Ledger ledger) {
    this.ledger = Objects.requireNonNull(ledger, "ledger");
  }

  /**
   * Ledger indices of the entries matching {@code query}, ascending (the log's order), as of the
   * latest checkpoint when the call started.
   *
   * @throws LedgerUnavailableException if the ledger cannot be read to catch up
   */
  synchronized long[] find(AuditQuery query) throws LedgerUnavailableException {
    catchUp();
    List<LongList> keyed = new ArrayList<>();
    if (query.patient() != null) {
      keyed.add(byPatient.getOrDefault(query.patient(), LongList.EMPTY));
    }
    if (query.agent() != null) {
      keyed.add(byAgent.getOrDefault(query.agent(), LongList.EMPTY));
    }
    if (query.entity() != null) {
      keyed.add(byEntity.getOrDefault(query.entity(), LongList.EMPTY));
    }
    if (query.action() != null) {
      keyed.add(byAction.getOrDefault(query.action(), LongList.EMPTY));
    }
    long from = query.from() == null ? Long.MIN_VALUE : query.from().toEpochMilli();
    long to = query.to() == null ? Long.MAX_VALUE : query.to().toEpochMilli();
    boolean timed = query.from() != null || query.to() != null;
    LongList base;
    if (!keyed.isEmpty()) {
      keyed.sort(Comparator.comparingInt(LongList::size));
      base = keyed.remove(0);
    } else if (timed) {
      base = inTimeRange(from, to);
    } else {
      base = all;
    }
    LongList out = new LongList();
    for (int i = 0; i < base.size(); i++) {
      long index = base.get(i);
      long t = timeByIndex[(int) index];
      if (t < from || t > to) {
        continue;
      }
      boolean inAll = true;
      for (LongList other : keyed) {
        if (!other.contains(index)) {
          inAll = false;
          break;
        }
      }
      if (inAll) {
        out.add(index);
      }
    }
    return out.toArray();
  }

  private LongList inTimeRange(long from, long to) {
    LongList out = new LongList();
    byTime.subMap(from, true, to, true).values().forEach(l -> l.forEach(out::add));
    long[] sorted = out.toArray();
    Arrays.sort(sorted);
    LongList result = new LongList();
    for (long v : sorted) {
      result.add(v);
    }
    return result;
  }

  private void catchUp() throws LedgerUnavailableException {
    long size = ledger.latestCheckpoint().size();
    if (size > Integer.MAX_VALUE - 8) {
      throw new IllegalStateException("the in-memory audit index holds at most 2^31 entries; move it to a database");
    }
    while (indexedSize < size) {
      long to = Math.min(size, indexedSize + READ_BATCH);
      for (LedgerEntry entry : ledger.entries(indexedSize, to)) {
        add(entry);
      }
      indexedSize = to;
    }
  }

  private void add(LedgerEntry entry) {
    EntryRecord record;
    try {
      record = EntryCodec.decode(entry.data());
    } catch (RuntimeException e) {
      log.warn("Ledger entry {} is not an interaction record the audit index understands; skipped", entry.index());
      return;
    }
    if (record.type() == EntryType.INTENT) {
      return;
    }
    long index = entry.index();
    if (index >= timeByIndex.length) {
      timeByIndex = Arrays.copyOf(timeByIndex, (int) Math.max(index + 1, Math.min(Integer.MAX_VALUE - 8L,
          timeByIndex.length * 2L)));
    }
    long millis = record.time().toEpochMilli();
    timeByIndex[(int) index] = millis;
    all.add(index);
    byTime.computeIfAbsent(millis, k -> new LongList()).add(index);
    byAction.computeIfAbsent(LedgerAuditEventFactory.actionOf(record.interaction()), k -> new LongList()).add(index);
    for (Pseudonym p : record.patients()) {
      byPatient.computeIfAbsent(p, k -> new LongList()).add(index);
    }
    post(byAgent, record.actor().clientId(), index);
    post(byAgent, record.actor().user(), index);
    post(byAgent, record.actor().organization(), index);
    if (record.resourceType() != null && record.resourceId() != null) {
      post(byEntity, record.resourceType() + "/" + record.resourceId(), index);
    } else if ("Patient".equals(record.resourceType())) {
      // A Patient's own id is never on the ledger: the entry is about the patients it names.
      for (Pseudonym p : record.patients()) {
        post(byEntity, patientEntityKey(p), index);
      }
    }
  }

  /** The entity key of entries about the Patient resource of the patient with pseudonym {@code p}. */
  static String patientEntityKey(Pseudonym p) {
    return "Patient#" + p;
  }

  private static void post(Map<String, LongList> map, String key, long index) {
    if (key != null) {
      LongList list = map.computeIfAbsent(key, k -> new LongList());
      if (list.size() == 0 || list.get(list.size() - 1) != index) {
        list.add(index);
      }
    }
  }

  /** A growable ascending list of ledger indices (appended in log order, so sorted by construction). */
  static final class LongList {
    static final LongList EMPTY = new LongList();
    private long[] values = new long[4];
    private int size;

    void add(long v) {
      if (size == values.length) {
        values = Arrays.copyOf(values, size * 2);
      }
      values[size++] = v;
    }

    int size() {
      return size;
    }

    long get(int i) {
      return values[i];
    }

    boolean contains(long v) {
      return Arrays.binarySearch(values, 0, size, v) >= 0;
    }

    void forEach(java.util.function.LongConsumer consumer) {
      for (int i = 0; i < size; i++) {
        consumer.accept(values[i]);
      }
    }

    long[] toArray() {
      return Arrays.copyOf(values, size);
    }
  }
}
