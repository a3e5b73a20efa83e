package io.statekeeper.storage;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * What the file store counts: versions kept and pruned, files quarantined, recovery
 * actions. The gauges that ask the store itself (writable, free space) are registered by
 * {@link FileStateRepository}.
 */
final class StorageMeters {

	private final MeterRegistry registry;

	private final AtomicLong versionsKept = new AtomicLong();

	private final AtomicLong quarantined = new AtomicLong();

	private final Counter versionsAdded;

	private final Counter versionsPruned;

	private final Map<String, Counter> recoveries = new ConcurrentHashMap<>();

	StorageMeters(MeterRegistry registry) {
		this.registry = registry;
		for (String outcome : RECOVERY_OUTCOMES) {
			counter(outcome);
		}
		this.versionsAdded = Counter.builder("statekeeper.state.backups.added")
			.description("Earlier versions kept in the history")
			.register(registry);
		this.versionsPruned = Counter.builder("statekeeper.state.backups.pruned")
			.description("Earlier versions removed beyond backups-kept")
			.register(registry);
		Gauge.builder("statekeeper.state.backups", this.versionsKept, AtomicLong::get)
			.description("Earlier versions kept on disk, over all states")
			.register(registry);
	}

	/** A version was kept in the history. */
	void versionKept() {
		this.versionsKept.incrementAndGet();
		this.versionsAdded.increment();
	}

	/** Start-up found this many valid kept versions of a state. */
	void versionsFound(int count) {
		this.versionsKept.addAndGet(count);
	}

	/** A kept version was pruned. */
	void versionPruned() {
		this.versionsKept.decrementAndGet();
		this.versionsPruned.increment();
	}

	/** A kept version went to quarantine. */
	void versionQuarantined() {
		this.versionsKept.updateAndGet((kept) -> Math.max(0, kept - 1));
	}

	/** A file went to quarantine (or should have). */
	void quarantined() {
		this.quarantined.incrementAndGet();
		recovery("quarantined");
	}

	long versionsKept() {
		return this.versionsKept.get();
	}

	long quarantinedFiles() {
		return this.quarantined.get();
	}

	/**
	 * The outcomes of {@link #recovery}: registered at start with 0, so the first shows.
	 */
	static final String[] RECOVERY_OUTCOMES = { "temp-removed", "restored", "quarantined", "unrecoverable" };

	/**
	 * Counts a recovery action.
	 * @param outcome temp-removed, restored, quarantined or unrecoverable
	 */
	void recovery(String outcome) {
		counter(outcome).increment();
	}

	private Counter counter(String outcome) {
		return this.recoveries.computeIfAbsent(outcome,
				(key) -> Counter.builder("statekeeper.storage.recoveries")
					.description("Start-up and run-time recovery actions")
					.tag("outcome", key)
					.register(this.registry));
	}

}
