package io.statekeeper.storage;

/**
 * What a write expects of its state's client lock, checked by a store that replicas share
 * in the write's own transaction: a write admitted under a lock that another replica has
 * since forced, released or taken over is refused
 * ({@link StorageException.Reason#CONFLICT}) and nothing is committed. A store only one
 * process writes has nothing to check: the service admits writes and changes locks under
 * the same in-process lock.
 *
 * @param checked whether the lock is checked at all
 * @param lockId the lock the write was admitted under, {@code null} for none (the state
 * must then be unlocked)
 */
public record LockFence(boolean checked, String lockId) {

	/** Nothing checked: a caller with no lock rule (tests, tools). */
	public static final LockFence NONE = new LockFence(false, null);

	/**
	 * The fence of a write admitted under {@code lockId}.
	 * @param lockId the lock, {@code null} for none
	 * @return the fence
	 */
	public static LockFence of(String lockId) {
		return new LockFence(true, lockId);
	}

}
