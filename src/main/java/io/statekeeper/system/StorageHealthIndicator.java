package io.statekeeper.system;

import org.springframework.boot.health.contributor.AbstractHealthIndicator;
import org.springframework.boot.health.contributor.Health;
import org.springframework.stereotype.Component;

import io.statekeeper.state.StateService;
import io.statekeeper.storage.StateRepository;
import io.statekeeper.storage.StorageStatus;

/**
 * The {@code storage} health indicator, in the readiness group. It is UP whenever the
 * store can serve reads: a full disk or a store that refuses writes shows in the details
 * (and in the metrics), because the states it holds are still served. It is DOWN when the
 * store cannot be read: the data-directory lock is not held, or (PostgreSQL) the database
 * does not answer, so that the replica leaves the load balancer. The management port
 * answers anyone who reaches it, so the details carry no path and no state name: how many
 * states are damaged, not which (the state list and the logs say which).
 */
@Component("storage")
class StorageHealthIndicator extends AbstractHealthIndicator {

	private final StateRepository repository;

	private final StateService service;

	StorageHealthIndicator(StateRepository repository, StateService service) {
		super("Storage health check failed");
		this.repository = repository;
		this.service = service;
	}

	@Override
	protected void doHealthCheck(Health.Builder builder) {
		StorageStatus status = this.repository.status();
		builder.up()
			.withDetail("engine", status.engine())
			.withDetail("freeBytes", status.freeBytes())
			.withDetail("minFreeBytes", status.minFreeBytes())
			.withDetail("lowOnSpace", status.freeBytes() >= 0 && status.freeBytes() < status.minFreeBytes())
			.withDetail("lockHeld", status.lockHeld())
			.withDetail("writable", status.readOnlyReason() == null)
			.withDetail("versionsKept", status.versionsKept())
			.withDetail("quarantined", status.quarantined());
		int damaged = this.service.damagedStates().size();
		if (damaged > 0) {
			builder.withDetail("damagedStates", damaged);
		}
		if (status.unavailableReason() != null) {
			builder.down().withDetail("unavailable", status.unavailableReason());
		}
	}

}
