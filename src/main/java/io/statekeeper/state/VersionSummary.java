package io.statekeeper.state;

import java.time.Instant;

import io.statekeeper.storage.VersionHeader;

/**
 * One readable revision in a state's history.
 *
 * @param revision the revision
 * @param checksum {@code sha256:<hex>} of its exact bytes
 * @param size its size in bytes
 * @param updatedAt when it was committed
 * @param current whether it is the state's current version
 */
public record VersionSummary(long revision, String checksum, long size, Instant updatedAt, boolean current) {

	static VersionSummary of(VersionHeader header, boolean current) {
		return new VersionSummary(header.revision(), header.checksum(), header.stateSize(), header.updatedAt(),
				current);
	}

}
