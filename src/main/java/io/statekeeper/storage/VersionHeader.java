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
 * @param sha256 lowercase hex SHA-256 of the body bytes as stored (so start-up can verify
 * every file without any key)
 * @param updatedAt when this revision was committed
 * @param deleted whether this revision is a deletion (a tombstone with an empty body)
 * @param key the id of the key the body is encrypted with, {@code null} if it is not
 * @param plainSize for an encrypted body, the size of the state itself
 * @param plainSha256 for an encrypted body, the SHA-256 of the state itself
 * @param audit who wrote this revision, and how: the audit entry of the write, made
 * durable by the same fsync as the state (the audit log itself is group-committed)
 */
@JsonPropertyOrder({ "format", "name", "revision", "size", "sha256", "updatedAt", "deleted", "key", "plainSize",
		"plainSha256", "audit" })
public record VersionHeader(int format, String name, long revision, long size, String sha256, Instant updatedAt,
		@JsonInclude(JsonInclude.Include.NON_DEFAULT) boolean deleted,
		@JsonInclude(JsonInclude.Include.NON_NULL) String key,
		@JsonInclude(JsonInclude.Include.NON_NULL) Long plainSize,
		@JsonInclude(JsonInclude.Include.NON_NULL) String plainSha256,
		@JsonInclude(JsonInclude.Include.NON_NULL) Audit audit) {

	/**
	 * A header of a body stored as it is (not encrypted).
	 */
	public VersionHeader(int format, String name, long revision, long size, String sha256, Instant updatedAt,
			boolean deleted) {
		this(format, name, revision, size, sha256, updatedAt, deleted, null, null, null, null);
	}

	/**
	 * The same header, carrying {@code audit}.
	 * @param audit who wrote it
	 * @return the header
	 */
	VersionHeader withAudit(Audit audit) {
		return new VersionHeader(this.format, this.name, this.revision, this.size, this.sha256, this.updatedAt,
				this.deleted, this.key, this.plainSize, this.plainSha256, audit);
	}

	/**
	 * The API form of the checksum of the state itself: {@code sha256:<hex>}.
	 * @return the checksum
	 */
	public String checksum() {
		return "sha256:" + ((this.plainSha256 != null) ? this.plainSha256 : this.sha256);
	}

	/**
	 * The size of the state itself.
	 * @return bytes
	 */
	public long stateSize() {
		return (this.plainSize != null) ? this.plainSize : this.size;
	}

	/**
	 * Who wrote a revision, and the audit log's anchor.
	 *
	 * @param action {@code put}, {@code delete} or {@code restore}
	 * @param token the id of the token that wrote it ({@code -} if none)
	 * @param remote the client's address ({@code -} if unknown)
	 * @param logEntries the number of the newest entry that was durable in the audit log
	 * when this revision was written ({@code null} in files written before anchors)
	 * @param logHead that entry's hash: start-up proves the log still holds it, so a log
	 * cut short or replaced is detected
	 */
	public record Audit(String action, String token, String remote,
			@JsonInclude(JsonInclude.Include.NON_NULL) Long logEntries,
			@JsonInclude(JsonInclude.Include.NON_NULL) String logHead) {

		/**
		 * Who wrote a revision, without an anchor.
		 */
		public Audit(String action, String token, String remote) {
			this(action, token, remote, null, null);
		}

	}

}
