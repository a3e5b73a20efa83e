package io.statekeeper.storage;

/**
 * Which kept versions pruning must leave on disk for now, beyond backups-kept: those
 * whose header is still the only durable record of something (the audit trail's entry for
 * that write, until its group commit). They are pruned once released
 * ({@link StateRepository#pruneHeldBack()}), or by a later write.
 */
@FunctionalInterface
public interface VersionRetention {

	/** Nothing to retain. */
	VersionRetention NONE = (name) -> Long.MAX_VALUE;

	/**
	 * The oldest revision of {@code name} that must stay on disk (with every newer one).
	 * @param name the state's name
	 * @return a revision, or {@link Long#MAX_VALUE} if pruning may remove any
	 */
	long firstRetained(String name);

}
