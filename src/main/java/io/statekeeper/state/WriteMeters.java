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

/**
 * What every write leaves behind for operators: the {@code statekeeper.state.writes}
 * timer (operation, outcome, bounded reason), the size of what was written, and one INFO
 * line, never the body (logger {@code io.statekeeper.state.StateService}).
 */
final class WriteMeters {

	private static final Logger logger = LoggerFactory.getLogger(StateService.class);

	private final MeterRegistry registry;

	private final DistributionSummary sizes;

	private final Map<String, Timer> timers = new ConcurrentHashMap<>();

	WriteMeters(MeterRegistry registry) {
		this.registry = registry;
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
		if (summary != null) {
			logger.info("{} state={} revision={} size={} outcome={} durationMs={}", operation, name, summary.revision(),
					summary.size(), outcome, nanos / 1_000_000.0);
		}
		else {
			logger.info("{} state={} outcome={} reason={} durationMs={}", operation, name, outcome, reason,
					nanos / 1_000_000.0);
		}
	}

	private Timer timer(String operation, String outcome, String reason) {
		return this.timers.computeIfAbsent(operation + ' ' + outcome + ' ' + reason,
				(key) -> Timer.builder("statekeeper.state.writes")
					.description("State writes: count and latency")
					.tags("operation", operation, "outcome", outcome, "reason", reason)
					.publishPercentileHistogram()
					.minimumExpectedValue(Duration.ofNanos(100_000))
					.maximumExpectedValue(Duration.ofSeconds(30))
					.register(this.registry));
	}

}
