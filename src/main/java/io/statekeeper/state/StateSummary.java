package io.statekeeper.state;

import java.time.Instant;

import com.fasterxml.jackson.annotation.JsonInclude;

import io.statekeeper.storage.VersionHeader;

/**
 * What the API says about a stored state or version.
 *
 * @param name the state's name
 * @param revision its revision
 * @param checksum {@code sha256:<hex>} of its exact bytes
 * @param size its size in bytes
 * @param updatedAt when it was committed
 * @param status {@code ok}, or {@code held} / {@code unrecoverable} for a state whose
 * current version is damaged (then {@code revision} is the damaged one's, and there is no
 * checksum, size or time to show)
 * @param locked in the list: whether a client holds the state's lock; absent elsewhere
 */
public record StateSummary(String name, long revision, @JsonInclude(JsonInclude.Include.NON_NULL) String checksum,
		long size, @JsonInclude(JsonInclude.Include.NON_NULL) Instant updatedAt, String status,
		@JsonInclude(JsonInclude.Include.NON_NULL) Boolean locked) {

	static final String OK = "ok";

	public StateSummary(String name, long revision, String checksum, long size, Instant updatedAt, String status) {
		this(name, revision, checksum, size, updatedAt, status, null);
	}

	StateSummary withLocked(boolean locked) {
		return new StateSummary(this.name, this.revision, this.checksum, this.size, this.updatedAt, this.status,
				locked);
	}

	static StateSummary of(VersionHeader header) {
		return new StateSummary(header.name(), header.revision(), header.checksum(), header.stateSize(),
				header.updatedAt(), OK);
	}

	static StateSummary damaged(String name, long revision, String condition) {
		return new StateSummary(name, revision, null, 0, null, condition);
	}

}
