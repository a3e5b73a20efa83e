package io.statekeeper.storage;

import java.time.Instant;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;

/**
 * The first line of every version file: what the body is and how to check it.
 *
 * @param format the file format, currently {@value VersionFormat#FORMAT}
 * @param name the state's name (also the name of its directory)
 * @param revision the revision, per state, starting at 1 and only ever growing
 * @param size the exact number of body bytes after the header line
 * @param sha256 lowercase hex SHA-256 of the body bytes
 * @param updatedAt when this revision was committed
 * @param deleted whether this revision is a deletion (a tombstone with an empty body)
 */
@JsonPropertyOrder({ "format", "name", "revision", "size", "sha256", "updatedAt", "deleted" })
public record VersionHeader(int format, String name, long revision, long size, String sha256, Instant updatedAt,
		@JsonInclude(JsonInclude.Include.NON_DEFAULT) boolean deleted) {

	/**
	 * The API form of the checksum: {@code sha256:<hex>}.
	 * @return the checksum
	 */
	public String checksum() {
		return "sha256:" + this.sha256;
	}

}
