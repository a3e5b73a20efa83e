package io.statekeeper.storage;

import java.util.List;

/**
 * A state as start-up recovery found it.
 *
 * @param name the state's name
 * @param current the current version (possibly a tombstone), or {@code null} when it was
 * damaged and is held or unrecoverable
 * @param lastRevision the highest revision the name ever had, so that none is reused
 * @param condition whether the state can be served
 * @param validRevisions the revisions that verified, newest first, for held states'
 * problems
 * @param restored whether start-up replaced a damaged current version with a kept one
 */
public record LoadedState(String name, StoredVersion current, long lastRevision, Condition condition,
		List<Long> validRevisions, boolean restored) {

	/**
	 * Whether a state can be served.
	 */
	public enum Condition {

		/** Its current version verified (or was restored automatically). */
		OK,

		/**
		 * Its current version was damaged; valid earlier versions wait for an admin
		 * restore.
		 */
		HELD,

		/** Its current version was damaged and no valid version is left. */
		UNRECOVERABLE

	}

}
