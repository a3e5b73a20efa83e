package io.statekeeper.storage;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * Where states are kept. The contract every implementation keeps:
 * <ul>
 * <li>a call that returns has made its change durable: it survives a crash or power loss
 * the moment the call returns;</li>
 * <li>a call that throws has left the committed state as it was, except that a
 * {@link StorageException.Reason#DURABILITY_UNKNOWN} failure may or may not have replaced
 * it (its caller must not acknowledge the write);</li>
 * <li>no failure ever makes a torn, truncated or unverified version visible;</li>
 * <li>callers serialize calls for one state name (one writer per state); calls for
 * different names may run in parallel.</li>
 * </ul>
 * Two implementations: {@link FileStateRepository} (one process, one data directory) and
 * {@link PostgresStateRepository} (any number of replicas on one database, a
 * {@link #shared()} store).
 */
public interface StateRepository {

	/**
	 * Recovers the store (removes leftovers of interrupted writes, verifies and
	 * quarantines damaged files, applies the corruption policy) and loads every state.
	 * Called once, at start-up, before any other method.
	 * @return every state known to the store, tombstones included
	 */
	List<LoadedState> loadAll();

	/**
	 * Commits {@code body} as revision {@code revision} of {@code name}, keeping the
	 * previous version in the history.
	 * @param name the state's name
	 * @param previous the current version's header, or {@code null} if there is none
	 * @param revision the new revision, greater than every revision the name ever had
	 * @param body the exact bytes to store, already validated
	 * @param updatedAt the commit time
	 * @param audit who writes it, recorded in the header ({@code null} for nobody)
	 * @return the header of the committed version
	 * @throws StorageException if the write was not made durable
	 */
	default VersionHeader write(String name, VersionHeader previous, long revision, byte[] body, Instant updatedAt,
			VersionHeader.Audit audit) {
		return write(name, previous, revision, ChecksummedBody.of(body), updatedAt, audit, LockFence.NONE, () -> {
		});
	}

	/**
	 * {@link #write(String, VersionHeader, long, byte[], Instant, VersionHeader.Audit)}
	 * with the body's checksum already known (computed while the body arrived), the lock
	 * the write was admitted under ({@link LockFence}, checked by a shared store) and a
	 * last word: {@code beforePublish} runs once the new version is written and verified
	 * but before anything is published; if it throws, the write is abandoned, the store
	 * is left as it was, and its exception is rethrown as it is.
	 * @throws StorageException with reason {@link StorageException.Reason#CONFLICT} if a
	 * shared store's state (or its lock) is no longer what the caller saw: nothing was
	 * committed
	 */
	VersionHeader write(String name, VersionHeader previous, long revision, ChecksummedBody body, Instant updatedAt,
			VersionHeader.Audit audit, LockFence fence, Runnable beforePublish);

	/**
	 * {@link #write(String, VersionHeader, long, byte[], Instant, VersionHeader.Audit)}
	 * with no audit fields.
	 */
	default VersionHeader write(String name, VersionHeader previous, long revision, byte[] body, Instant updatedAt) {
		return write(name, previous, revision, body, updatedAt, null);
	}

	/**
	 * Deletes {@code name} by committing a tombstone as revision {@code revision}; the
	 * history is kept and the revision counter survives.
	 * @param name the state's name
	 * @param previous the current version's header
	 * @param revision the tombstone's revision
	 * @param deletedAt the commit time
	 * @param audit who deletes it, recorded in the tombstone's header
	 * @return the tombstone's header
	 * @throws StorageException if the deletion was not made durable
	 */
	VersionHeader delete(String name, VersionHeader previous, long revision, Instant deletedAt,
			VersionHeader.Audit audit, LockFence fence);

	/**
	 * {@link #delete(String, VersionHeader, long, Instant, VersionHeader.Audit, LockFence)}
	 * with no audit fields and no lock rule.
	 */
	default VersionHeader delete(String name, VersionHeader previous, long revision, Instant deletedAt) {
		return delete(name, previous, revision, deletedAt, null, LockFence.NONE);
	}

	/**
	 * The kept earlier versions of a state, newest first (the current one excluded).
	 * @param name the state's name
	 * @return their headers
	 */
	List<VersionHeader> versions(String name);

	/**
	 * Reads one kept earlier version, verified against its checksum. A version that fails
	 * verification is moved to quarantine and reported as corrupt.
	 * @param name the state's name
	 * @param revision the revision
	 * @return the verified version, or {@code null} if no such version is kept
	 * @throws StorageException with reason {@link StorageException.Reason#CORRUPT} if
	 * damaged
	 */
	StoredVersion readVersion(String name, long revision);

	/**
	 * Every state's lock, verified. Called once at start-up, after {@link #loadAll()}. A
	 * lock whose record is damaged is reported as {@link StoredLock#damaged}: never as no
	 * lock, since a write must not slip past a lock that was there.
	 * @return the locks, by state name (a state need not exist to be locked)
	 */
	Map<String, StoredLock> loadLocks();

	/**
	 * Makes {@code lock} its state's lock (taking, renewing or taking over), durably: the
	 * same promise as a write.
	 * @param lock the lock
	 * @throws StorageException if it was not made durable
	 */
	void writeLock(StoredLock lock);

	/**
	 * Removes a state's lock, durably; nothing if there is none.
	 * @param name the state
	 * @throws StorageException if the removal was not made durable
	 */
	void deleteLock(String name);

	/**
	 * {@link #writeLock(StoredLock)} only if the state's lock is still the one the caller
	 * saw: a compare-and-set that a shared store needs, since another replica may change
	 * the lock meanwhile (a store one process writes has nothing to compare).
	 * @param lock the lock
	 * @param expectedId the id of the lock the caller saw, {@code null} if it saw none
	 * @throws StorageException with reason {@link StorageException.Reason#CONFLICT} if
	 * the lock changed: nothing was written
	 */
	default void writeLock(StoredLock lock, String expectedId) {
		writeLock(lock);
	}

	/**
	 * {@link #deleteLock(String)} only if the state's lock is still {@code expectedId}.
	 * @param name the state
	 * @param expectedId the id of the lock the caller saw
	 * @throws StorageException with reason {@link StorageException.Reason#CONFLICT} if
	 * the lock changed: nothing was removed
	 */
	default void deleteLock(String name, String expectedId) {
		deleteLock(name);
	}

	/**
	 * Whether other processes write this store too: replicas on one database. The service
	 * then reads a state through to the store ({@link #reload}) before it serves or
	 * writes it, instead of trusting what it holds in memory, and the store checks every
	 * write's revision and lock ({@link LockFence}) in the write's own transaction.
	 * @return {@code true} for a shared store
	 */
	default boolean shared() {
		return false;
	}

	/**
	 * A shared store's state as it is now.
	 * @param name the state's name
	 * @param known the version the caller holds, or {@code null}: returned as it is (its
	 * bytes not read again) while it is still current
	 * @return the state, its lock and the store's clock; a name the store never had comes
	 * back with no version, revision 0 (and perhaps a lock)
	 * @throws StorageException if the store cannot be read
	 */
	default SharedState reload(String name, StoredVersion known) {
		throw new UnsupportedOperationException("Only a shared store is read through");
	}

	/**
	 * Every state of a shared store as it is now, for the list.
	 * @param known per name, the version the caller holds ({@code null} for none): reused
	 * while it is still current
	 * @return the states (locks included), by name
	 * @throws StorageException if the store cannot be read
	 */
	default List<SharedState> reloadAll(java.util.function.Function<String, StoredVersion> known) {
		throw new UnsupportedOperationException("Only a shared store is read through");
	}

	/**
	 * Which kept versions pruning must leave for now, beyond backups-kept (the audit
	 * trail's rule: a version whose header is still the only durable record of its
	 * write). Wired once at start-up, before the service takes requests; until then
	 * nothing is held back.
	 * @param retention the rule
	 */
	void setRetention(VersionRetention retention);

	/**
	 * Prunes, beyond backups-kept, the versions that earlier pruning had to leave because
	 * a {@link VersionRetention} held them back. Safe alongside writes: pruning only ever
	 * removes versions older than the newest backups-kept it sees.
	 */
	default void pruneHeldBack() {
	}

	/**
	 * What the store reports about itself, for health and operators.
	 * @return the status
	 */
	StorageStatus status();

}
