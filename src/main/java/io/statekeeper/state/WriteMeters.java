package io.statekeeper.state;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.statekeeper.storage.StorageException;

/**
 * What every write leaves behind for operators: the {@code statekeeper.state.writes}
 * timer (operation, outcome, bounded reason; every combination registered at start), the
 * {@code statekeeper.state.writes.latency} histogram of successful writes, the size of
 * what was written, and one INFO line, never the body (logger
 * {@code io.statekeeper.state.StateService}).
 */
final class WriteMeters {

	private static final Logger logger = LoggerFactory.getLogger(StateService.class);

	private final MeterRegistry registry;

	private final DistributionSummary sizes;

	private final Map<String, Timer> timers = new ConcurrentHashMap<>();

	private final Map<String, Timer> latencies = new ConcurrentHashMap<>();

	/** The operations that write. */
	static final String[] OPERATIONS = { "put", "patch", "delete", "restore" };

	WriteMeters(MeterRegistry registry) {
		this.registry = registry;
		// every series an alert or a panel reads exists from the start, at 0, so that
		// rate() and increase() see the first failure after a start
		for (String operation : OPERATIONS) {
			timer(operation, "success", "none");
			latency(operation);
			timer(operation, "failed", "internal");
			for (StorageException.Reason reason : StorageException.Reason.values()) {
				timer(operation, "failed", reason.tag());
			}
			for (StateProblem problem : StateProblem.values()) {
				timer(operation, "rejected", problem.slug());
			}
		}
		this.sizes = DistributionSummary.builder("statekeeper.state.size")
			.description("Size of states written")
			.baseUnit("bytes")
			.register(registry);
	}

	/** A state of this many bytes was written. */
	void size(int bytes) {
		this.sizes.record(bytes);
	}

	/**
	 * Times and logs one write.
	 * @param summary what was written, {@code null} if the write did not succeed
	 */
	void written(String operation, String name, String outcome, String reason, long nanos, StateSummary summary) {
		timer(operation, outcome, reason).record(nanos, TimeUnit.NANOSECONDS);
		if ("success".equals(outcome)) {
			latency(operation).record(nanos, TimeUnit.NANOSECONDS);
		}
		// the fields as key-value pairs (JSON fields with structured logging), and in the
		// message for the plain console
		org.slf4j.spi.LoggingEventBuilder event = logger.atInfo()
			.addKeyValue("operation", operation)
			.addKeyValue("state", name)
			.addKeyValue("outcome", outcome)
			.addKeyValue("durationMs", nanos / 1_000_000.0);
		String token = Caller.token();
		if (token != null) {
			event = event.addKeyValue("token", token);
		}
		if (summary != null) {
			event.addKeyValue("revision", summary.revision())
				.addKeyValue("size", summary.size())
				.log("{} state={} revision={} size={} outcome={} durationMs={}", operation, name, summary.revision(),
						summary.size(), outcome, nanos / 1_000_000.0);
		}
		else {
			event.addKeyValue("reason", reason)
				.log("{} state={} outcome={} reason={} durationMs={}", operation, name, outcome, reason,
						nanos / 1_000_000.0);
		}
	}

	/**
	 * The timer of one operation, outcome and reason: count, total and maximum, no
	 * histogram (a refusal's latency is not worth a percentile, and a histogram per
	 * reason would multiply the series by its buckets; Prometheus cannot mix the two
	 * under one name either).
	 */
	private Timer timer(String operation, String outcome, String reason) {
		return this.timers.computeIfAbsent(operation + ' ' + outcome + ' ' + reason,
				(key) -> Timer.builder("statekeeper.state.writes")
					.description("State writes by operation, outcome and reason: count and time")
					.tags("operation", operation, "outcome", outcome, "reason", reason)
					.register(this.registry));
	}

	/** The latency histogram of one operation's successful writes. */
	private Timer latency(String operation) {
		return this.latencies.computeIfAbsent(operation,
				(key) -> Timer.builder("statekeeper.state.writes.latency")
					.description("Latency of successful state writes, for percentiles")
					.tag("operation", operation)
					.publishPercentileHistogram()
					.minimumExpectedValue(Duration.ofNanos(100_000))
					.maximumExpectedValue(Duration.ofSeconds(30))
					.register(this.registry));
	}

}
