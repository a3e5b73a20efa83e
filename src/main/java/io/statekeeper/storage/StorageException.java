package io.statekeeper.storage;

/**
 * A write or read the store could not carry out. The committed state is unchanged unless
 * {@link Reason#DURABILITY_UNKNOWN} says otherwise.
 */
public class StorageException extends RuntimeException {

	private static final long serialVersionUID = 1L;

	private final Reason reason;

	public StorageException(Reason reason, String message, Throwable cause) {
		super(message, cause);
		this.reason = reason;
	}

	public StorageException(Reason reason, String message) {
		this(reason, message, null);
	}

	/**
	 * Why the operation failed; bounded, so it can be a metric tag.
	 * @return the reason
	 */
	public Reason getReason() {
		return this.reason;
	}

	/**
	 * Why a storage operation failed.
	 */
	public enum Reason {

		/** The store is full (free-space check, {@code ENOSPC} or {@code EDQUOT}). */
		NO_SPACE("no-space"),

		/** The file system is mounted read-only ({@code EROFS}). */
		READ_ONLY("read-only"),

		/** The process may not write there ({@code EACCES}, {@code EPERM}). */
		ACCESS_DENIED("access-denied"),

		/** Any other I/O error ({@code EIO} and friends). */
		IO_ERROR("io-error"),

		/** The written file did not read back as written. */
		VERIFY_FAILED("verify-failed"),

		/**
		 * A directory fsync failed after the rename: the write may or may not survive a
		 * crash, so it was not acknowledged and the store refuses writes until restarted.
		 */
		DURABILITY_UNKNOWN("durability-unknown"),

		/** The store refuses writes since an earlier {@link #DURABILITY_UNKNOWN}. */
		STORE_DEGRADED("store-degraded"),

		/** A stored file failed verification when read. */
		CORRUPT("corrupt"),

		/**
		 * Another process changed the state (or its lock) first, in a store replicas
		 * share, or the database gave up a transaction (serialization failure, deadlock):
		 * nothing was committed, and the service tries again on what is current now.
		 */
		CONFLICT("conflict");

		private final String tag;

		Reason(String tag) {
			this.tag = tag;
		}

		/**
		 * The metric tag value.
		 * @return the tag
		 */
		public String tag() {
			return this.tag;
		}

	}

}
