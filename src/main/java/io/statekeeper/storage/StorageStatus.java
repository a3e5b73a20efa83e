package io.statekeeper.storage;

import java.nio.file.Path;

/**
 * What the store reports about itself.
 *
 * @param dataDirectory the data directory
 * @param freeBytes bytes usable on its file system, or -1 if that could not be read
 * @param minFreeBytes the configured margin below which writes are refused
 * @param lockHeld whether this process holds the data-directory lock
 * @param readOnlyReason why the store refuses writes, or {@code null} if it accepts them
 * @param versionsKept how many earlier versions are kept on disk, over all states
 * @param quarantined how many damaged files were moved to quarantine by this process
 * @param engine {@code file} or {@code postgresql}
 * @param unavailableReason why the store cannot be read now (its database does not
 * answer), or {@code null} if it can
 */
public record StorageStatus(Path dataDirectory, long freeBytes, long minFreeBytes, boolean lockHeld,
		String readOnlyReason, long versionsKept, long quarantined, String engine, String unavailableReason) {

}
