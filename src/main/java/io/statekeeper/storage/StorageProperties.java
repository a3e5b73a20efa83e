package io.statekeeper.storage;

import java.nio.file.Path;
import java.time.Duration;

import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;
import org.springframework.validation.annotation.Validated;

/**
 * Storage settings ({@code statekeeper.storage.*}), validated at start-up: a bad value
 * stops the service with a message naming the property.
 *
 * @param dataDir the data directory; created (mode 0700) if missing
 * @param backupsKept how many earlier versions of each state to keep, 0 to 1000. The code
 * says <em>version</em> for each of them; {@code backups-kept} and the
 * {@code statekeeper.state.backups*} meters keep the names the design contract gave them
 * @param maxStateSize the largest state body accepted; larger PUTs get 413
 * @param minFreeSpace free space always left on the store: a write needs twice its size
 * plus this margin, or it is refused with 507 before anything is written
 * @param lockTimeout how long a writer waits for another writer of the same state before
 * giving up with 503
 * @param onCorruption what start-up does with a state whose current version is damaged
 * @param maxBodyMemory how many bytes of request bodies are held at once; a PUT that
 * finds no room within {@code lockTimeout} is refused with 503. Unset: a quarter of the
 * heap, and at least {@code maxStateSize}
 * @param type where states are kept: {@code file} (the data directory, the default) or
 * {@code postgresql} (the database of {@code spring.datasource.*}, shared by any number
 * of replicas; the data directory then holds only this replica's audit log)
 */
@ConfigurationProperties("statekeeper.storage")
@Validated
public record StorageProperties(@NotNull @DefaultValue("./data") Path dataDir,
		@Min(0) @Max(1000) @DefaultValue("5") int backupsKept, @NotNull @DefaultValue("32MB") DataSize maxStateSize,
		@NotNull @DefaultValue("64MB") DataSize minFreeSpace, @NotNull @DefaultValue("10s") Duration lockTimeout,
		@NotNull @DefaultValue("hold") OnCorruption onCorruption, DataSize maxBodyMemory,
		@NotNull @DefaultValue("file") Type type) {

	public StorageProperties {
		if (maxStateSize != null && (maxStateSize.toBytes() < 1 || maxStateSize.toBytes() > 1L << 30)) {
			throw new IllegalArgumentException(
					"statekeeper.storage.max-state-size must be between 1B and 1GB, was " + maxStateSize);
		}
		if (minFreeSpace != null && minFreeSpace.isNegative()) {
			throw new IllegalArgumentException(
					"statekeeper.storage.min-free-space must not be negative, was " + minFreeSpace);
		}
		if (maxBodyMemory != null && maxStateSize != null && maxBodyMemory.toBytes() < maxStateSize.toBytes()) {
			throw new IllegalArgumentException("statekeeper.storage.max-body-memory must be at least max-state-size ("
					+ maxStateSize + "), was " + maxBodyMemory);
		}
		if (lockTimeout != null && (lockTimeout.isNegative() || lockTimeout.isZero())) {
			throw new IllegalArgumentException("statekeeper.storage.lock-timeout must be positive, was " + lockTimeout);
		}
	}

	/**
	 * Where states are kept.
	 */
	public enum Type {

		/** One data directory, one process: nothing to set up. */
		FILE,

		/** A PostgreSQL database that any number of replicas share. */
		POSTGRESQL

	}

	/**
	 * What to do with a state whose current version is damaged.
	 */
	public enum OnCorruption {

		/**
		 * Quarantine the damaged file and hold the state: reads answer 503 naming the
		 * valid versions, writes are refused, until an admin restores one.
		 */
		HOLD,

		/**
		 * Quarantine the damaged file and promote the newest valid version as a new
		 * revision.
		 */
		RESTORE_PREVIOUS

	}

}
