package io.statekeeper.system;

import org.springframework.boot.health.contributor.AbstractHealthIndicator;
import org.springframework.boot.health.contributor.Health;
import org.springframework.stereotype.Component;

import io.statekeeper.storage.StateRepository;
import io.statekeeper.storage.StorageStatus;

/**
 * {@code diskSpace}, in place of Spring Boot's: the data directory's volume, not the
 * working directory's, DOWN below {@code min-free-space} (where writes are refused with
 * 507), and without the path in its details (the management port answers anyone who
 * reaches it). Not in the readiness group: a full disk still serves every read.
 */
@Component("diskSpaceHealthIndicator")
class DataDiskHealthIndicator extends AbstractHealthIndicator {

	private final StateRepository repository;

	DataDiskHealthIndicator(StateRepository repository) {
		super("Disk space health check failed");
		this.repository = repository;
	}

	@Override
	protected void doHealthCheck(Health.Builder builder) {
		StorageStatus status = this.repository.status();
		boolean enough = status.freeBytes() < 0 || status.freeBytes() >= status.minFreeBytes();
		(enough ? builder.up() : builder.down()).withDetail("free", status.freeBytes())
			.withDetail("threshold", status.minFreeBytes());
	}

}
