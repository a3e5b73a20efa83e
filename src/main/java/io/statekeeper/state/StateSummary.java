package io.statekeeper.state;

import java.time.Instant;

import io.statekeeper.storage.VersionHeader;

/**
 * What the API says about a stored state or version.
 *
 * @param name the state's name
 * @param revision its revision
 * @param checksum {@code sha256:<hex>} of its exact bytes
 * @param size its size in bytes
 * @param updatedAt when it was committed
 */
public record StateSummary(String name, long revision, String checksum, long size, Instant updatedAt) {

	static StateSummary of(VersionHeader header) {
		return new StateSummary(header.name(), header.revision(), header.checksum(), header.stateSize(),
				header.updatedAt());
	}

}
