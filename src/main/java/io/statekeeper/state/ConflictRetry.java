package io.statekeeper.state;

import java.util.function.Supplier;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;

import io.statekeeper.storage.StorageException;

/**
 * Tries a write (or a lock change) again when a store that replicas share reports a
 * {@link StorageException.Reason#CONFLICT}: another replica changed the state or its lock
 * first, or the database gave up the transaction (serialization failure, deadlock).
 * Nothing was committed, and each attempt reads the state through again, so the next one
 * decides on what is current: a conditional write then fails its condition (412), a write
 * under a lock that moved is refused (409/423), a patch applies to the new revision. At
 * most {@value #ATTEMPTS} attempts; the last conflict is answered with 503 and
 * {@code Retry-After}. Counted as {@code statekeeper.storage.conflicts}.
 */
final class ConflictRetry {

	static final int ATTEMPTS = 5;

	private final Counter conflicts;

	ConflictRetry(MeterRegistry registry) {
		this.conflicts = Counter.builder("statekeeper.storage.conflicts")
			.description("Writes and lock changes tried again because another replica changed the state first or "
					+ "the database gave up the transaction (a shared store)")
			.register(registry);
	}

	<T> T run(Supplier<T> attempt) {
		for (int tried = 1;; tried++) {
			try {
				return attempt.get();
			}
			catch (StorageException ex) {
				if (ex.getReason() != StorageException.Reason.CONFLICT || tried >= ATTEMPTS) {
					throw ex;
				}
				this.conflicts.increment();
			}
		}
	}

}
