package io.statekeeper.state;

import io.statekeeper.storage.VersionHeader;

/**
 * What the {@link StateService} asks of the audit trail while it writes, under the
 * state's lock: who is writing (recorded in the version header, so that the write's audit
 * entry is durable with the state itself), and a barrier before a write replaces a
 * version that is not kept (its audit entry must be durable in the log before its header
 * is gone). Kept versions are held back from pruning instead
 * ({@link io.statekeeper.storage.VersionRetention}).
 */
public interface WriteAudit {

	/** No audit trail: nothing recorded, nothing to wait for. */
	WriteAudit NONE = new WriteAudit() {

		@Override
		public VersionHeader.Audit headerFields(String action) {
			return null;
		}

		@Override
		public void awaitDurableUpTo(String name, long upToRevision) {
		}

	};

	/**
	 * Who performs {@code action} on the current request.
	 * @param action {@code put}, {@code delete} or {@code restore}
	 * @return the audit fields for the version header, or {@code null}
	 */
	VersionHeader.Audit headerFields(String action);

	/**
	 * Called before a write replaces the current version of {@code name} without keeping
	 * it (a tombstone, or backups-kept 0): returns once the audit entries of its
	 * revisions up to {@code upToRevision} are durable.
	 * @param name the state's name
	 * @param upToRevision the newest revision that disappears
	 */
	void awaitDurableUpTo(String name, long upToRevision);

}
