package io.statekeeper.state;

import org.springframework.http.HttpStatus;

/**
 * Every way a state request can be refused, each with its own stable problem {@code type}
 * ({@code https://statekeeper.io/problems/<slug>}), status and title. The slug doubles as
 * the bounded {@code reason} tag of the write metrics.
 */
public enum StateProblem {

	INVALID_NAME("invalid-name", HttpStatus.BAD_REQUEST, "Invalid state name"),

	INVALID_REVISION("invalid-revision", HttpStatus.BAD_REQUEST, "Invalid revision"),

	INVALID_PRECONDITION("invalid-precondition", HttpStatus.BAD_REQUEST, "Invalid conditional header"),

	INVALID_QUERY("invalid-query", HttpStatus.BAD_REQUEST, "Invalid query parameter"),

	MALFORMED_JSON("malformed-json", HttpStatus.BAD_REQUEST, "Body is not well-formed JSON"),

	DOCUMENT_TOO_COMPLEX("document-too-complex", HttpStatus.BAD_REQUEST, "Document exceeds the parser's limits"),

	UNSUPPORTED_CHARSET("unsupported-media-type", HttpStatus.UNSUPPORTED_MEDIA_TYPE, "Unsupported Media Type"),

	NOT_A_STATE("not-a-state", HttpStatus.UNPROCESSABLE_CONTENT, "Body is JSON but not a state"),

	TOO_LARGE("state-too-large", HttpStatus.CONTENT_TOO_LARGE, "State too large"),

	BODY_TOO_SLOW("body-too-slow", HttpStatus.REQUEST_TIMEOUT, "The body arrived too slowly"),

	NOT_FOUND("state-not-found", HttpStatus.NOT_FOUND, "State not found"),

	VERSION_NOT_FOUND("version-not-found", HttpStatus.NOT_FOUND, "Version not found"),

	ADMIN_REQUIRED("admin-required", HttpStatus.FORBIDDEN, "Only an admin may do this to a damaged state"),

	PRECONDITION_FAILED("precondition-failed", HttpStatus.PRECONDITION_FAILED, "Precondition failed"),

	INVALID_LOCK("invalid-lock", HttpStatus.BAD_REQUEST, "Invalid lock information"),

	INVALID_PATCH("invalid-patch", HttpStatus.BAD_REQUEST, "Not a patch document"),

	PATCH_CONFLICT("patch-conflict", HttpStatus.CONFLICT, "The patch does not apply to the current revision"),

	CONTENT_MD5_MISMATCH("content-md5-mismatch", HttpStatus.BAD_REQUEST, "Content-MD5 does not match the body"),

	LOCKED("state-locked", HttpStatus.LOCKED, "State is locked by another client"),

	LOCK_NOT_HELD("lock-not-held", HttpStatus.CONFLICT, "This lock is not the state's lock"),

	LINEAGE_MISMATCH("lineage-mismatch", HttpStatus.CONFLICT, "Another lineage than the stored state's"),

	SERIAL_REGRESSED("serial-regressed", HttpStatus.CONFLICT, "A lower serial than the stored state's"),

	SERIAL_REUSED("serial-reused", HttpStatus.CONFLICT, "The stored serial with different contents"),

	BUSY("state-busy", HttpStatus.SERVICE_UNAVAILABLE, "Another write to this state is in progress"),

	OVERLOADED("too-many-large-writes", HttpStatus.SERVICE_UNAVAILABLE, "Too many large writes at once"),

	HELD("state-held", HttpStatus.SERVICE_UNAVAILABLE, "State is damaged and held"),

	UNRECOVERABLE("state-unrecoverable", HttpStatus.SERVICE_UNAVAILABLE, "State is damaged and unrecoverable");

	private final String slug;

	private final HttpStatus status;

	private final String title;

	StateProblem(String slug, HttpStatus status, String title) {
		this.slug = slug;
		this.status = status;
		this.title = title;
	}

	public String slug() {
		return this.slug;
	}

	public HttpStatus status() {
		return this.status;
	}

	public String title() {
		return this.title;
	}

	/**
	 * Whether the same request may well succeed a moment later (another writer, or other
	 * large bodies, will be done): answered with {@code Retry-After}. A damaged state
	 * will not heal by waiting.
	 * @return whether to retry later
	 */
	public boolean retryLater() {
		return this == BUSY || this == OVERLOADED;
	}

}
