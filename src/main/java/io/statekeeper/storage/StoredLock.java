package io.statekeeper.storage;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Objects;

/**
 * A state's lock as the store keeps it: who holds it (the client's lock id), the lock
 * information the client sent (kept as its exact bytes, to be answered back as they
 * were), when it was taken and until when its lease runs.
 *
 * @param name the state's name
 * @param id the holder's lock id
 * @param info the lock information as the client sent it (a JSON object)
 * @param acquiredAt when the holder took the lock
 * @param expiresAt when its lease runs out unless renewed
 */
public record StoredLock(String name, String id, byte[] info, Instant acquiredAt, Instant expiresAt) {

	/** The id of the lock a damaged lock file leaves behind. */
	public static final String DAMAGED_ID = "damaged-lock-file";

	public StoredLock {
		Objects.requireNonNull(name, "name");
		Objects.requireNonNull(id, "id");
		Objects.requireNonNull(info, "info");
		Objects.requireNonNull(acquiredAt, "acquiredAt");
		Objects.requireNonNull(expiresAt, "expiresAt");
	}

	/**
	 * What a damaged lock file leaves: a lock nobody holds (no client has its id, so
	 * nobody's write passes it and every old holder is fenced), already expired, so the
	 * next client that locks takes it over, and an operator can force it.
	 * @param name the state
	 * @param at when it was found
	 * @return the lock
	 */
	public static StoredLock damaged(String name, Instant at) {
		byte[] info = ("{\"ID\":\"" + DAMAGED_ID + "\",\"Info\":\"the lock file was damaged and is in quarantine\"}")
			.getBytes(StandardCharsets.UTF_8);
		return new StoredLock(name, DAMAGED_ID, info, at, Instant.EPOCH);
	}

	/**
	 * The same lock with a new lease end.
	 * @param until the new end
	 * @return the renewed lock
	 */
	public StoredLock renewedUntil(Instant until) {
		return new StoredLock(this.name, this.id, this.info, this.acquiredAt, until);
	}

	/**
	 * Whether the lease has run out.
	 * @param now the time now
	 * @return true once {@code now} is past the lease end
	 */
	public boolean expired(Instant now) {
		return now.isAfter(this.expiresAt);
	}

	@Override
	public boolean equals(Object other) {
		return other instanceof StoredLock that && this.name.equals(that.name) && this.id.equals(that.id)
				&& java.util.Arrays.equals(this.info, that.info) && this.acquiredAt.equals(that.acquiredAt)
				&& this.expiresAt.equals(that.expiresAt);
	}

	@Override
	public int hashCode() {
		return Objects.hash(this.name, this.id, java.util.Arrays.hashCode(this.info), this.acquiredAt, this.expiresAt);
	}

	@Override
	public String toString() {
		return "StoredLock[" + this.name + ", id=" + this.id + ", expiresAt=" + this.expiresAt + "]";
	}

}
