package org.fhirledger.gateway.ledger;

import java.util.List;

/**
 * What {@link InteractionRecorder#recordAnswered} recorded.
 *
 * @param index the index to report in {@link InteractionRecorder#HEADER}
 * @param writes the successful writes among the recorded entries (one for a plain write, one per successful write
 *     entry of a batch or transaction, none for a read or a failure), in entry order
 */
public record Answered(long index, List<RecordedWrite> writes) {
  public Answered {
    writes = List.copyOf(writes);
  }
}
