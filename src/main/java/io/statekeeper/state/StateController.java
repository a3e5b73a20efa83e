package io.statekeeper.state;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.Enumeration;
import java.util.List;
import java.util.function.Predicate;

import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.Parameter;
import io.swagger.v3.oas.annotations.enums.ParameterIn;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.parameters.RequestBody;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.tags.Tag;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

import org.springframework.http.CacheControl;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpMethod;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PatchMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.PutMapping;
import org.springframework.web.bind.annotation.RequestAttribute;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;

import io.statekeeper.storage.StoredVersion;
import io.statekeeper.storage.VersionHeader;

/**
 * REST v1: {@code /api/v1/states}. Thin: it reads headers and the body (bounded while
 * streaming), and leaves every decision to {@link StateService}.
 */
@RestController
@RequestMapping("/api/v1/states")
@Tag(name = "states", description = "Durable, versioned JSON states")
public class StateController {

	/**
	 * Request attribute the security layer sets to a {@code Predicate<String>} of the
	 * state names the caller may see; absent, every state is visible.
	 */
	public static final String SCOPE_ATTRIBUTE = "io.statekeeper.state.StateController.scope";

	/** The servlet role of an admin token ({@link HttpServletRequest#isUserInRole}). */
	static final String ADMIN_ROLE = "ADMIN";

	private static final CacheControl NO_CACHE = CacheControl.noCache().cachePrivate();

	/** The header that names the lock a writer holds ({@link LockController}). */
	static final String LOCK_ID = "Lock-Id";

	private final StateService service;

	private final StateBodies bodies;

	StateController(StateService service, StateBodies bodies) {
		this.service = service;
		this.bodies = bodies;
	}

	@GetMapping(produces = MediaType.APPLICATION_JSON_VALUE)
	@Operation(summary = "List every stored state",
			description = "Damaged states are listed too, with status held or unrecoverable.")
	@ApiResponse(responseCode = "200", description = "The states, by name")
	List<StateSummary> list(@Parameter(hidden = true) @RequestAttribute(name = SCOPE_ATTRIBUTE,
			required = false) Predicate<String> scope) {
		List<StateSummary> all = this.service.list();
		return (scope != null) ? all.stream().filter((summary) -> scope.test(summary.name())).toList() : all;
	}

	@GetMapping("/{name}")
	@Operation(summary = "Read a state: the exact bytes last stored",
			description = "ETag is the revision in quotes; If-None-Match with the current ETag answers 304.")
	@ApiResponse(responseCode = "200", description = "The state",
			content = @Content(mediaType = "application/json", schema = @Schema(type = "object")))
	@ApiResponse(responseCode = "304", description = "Not modified since the given ETag")
	@ApiResponse(responseCode = "404", description = "No such state")
	@ApiResponse(responseCode = "503", description = "The state is damaged and held or unrecoverable")
	@Parameter(name = HttpHeaders.IF_NONE_MATCH, in = ParameterIn.HEADER, required = false,
			schema = @Schema(type = "string"),
			description = "An ETag (or a list, or *): 304 when it matches the current revision")
	void get(@PathVariable String name, @Parameter(hidden = true) HttpServletRequest request,
			@Parameter(hidden = true) HttpServletResponse response) throws IOException {
		// the hottest path, written to the servlet response directly: through a
		// ResponseEntity, Spring's conditional-request support re-parsed the date it
		// had just formatted, and the message converters negotiated a byte array;
		// together about 15% of a GET's CPU (JFR, 16 connections)
		StateService.checkName(name);
		Enumeration<String> conditions = request.getHeaders(HttpHeaders.IF_NONE_MATCH);
		Precondition precondition = Precondition.parse(null,
				conditions.hasMoreElements() ? String.join(",", Collections.list(conditions)) : null);
		StoredVersion version = this.service.get(name);
		response.setHeader(HttpHeaders.ETAG, etag(version.header()));
		response.setHeader(HttpHeaders.CACHE_CONTROL, NO_CACHE.getHeaderValue());
		if (precondition.notModified(version.header())) {
			response.setStatus(HttpStatus.NOT_MODIFIED.value());
			return;
		}
		byte[] body = version.body();
		response.setStatus(HttpStatus.OK.value());
		response.setDateHeader(HttpHeaders.LAST_MODIFIED, version.header().updatedAt().toEpochMilli());
		response.setContentType(MediaType.APPLICATION_JSON_VALUE);
		response.setContentLength(body.length);
		if (!HttpMethod.HEAD.matches(request.getMethod())) {
			response.getOutputStream().write(body);
		}
	}

	@PutMapping(path = "/{name}", consumes = { MediaType.APPLICATION_JSON_VALUE, "application/*+json" },
			produces = MediaType.APPLICATION_JSON_VALUE)
	@Operation(summary = "Create or replace a state",
			description = "The body is stored byte for byte. "
					+ "If-Match: \"<rev>\" makes it conditional on the current revision; If-None-Match: * on creation.")
	@RequestBody(required = true,
			content = @Content(mediaType = "application/json",
					schema = @Schema(type = "object", requiredProperties = { "version", "resources", "metadata" })))
	@ApiResponse(responseCode = "200", description = "Replaced")
	@ApiResponse(responseCode = "201", description = "Created")
	@ApiResponse(responseCode = "400", description = "Invalid name, malformed JSON or conditional header")
	@ApiResponse(responseCode = "412", description = "If-Match or If-None-Match does not hold")
	@ApiResponse(responseCode = "409", description = "Lock-Id is not the state's lock (lock-not-held)")
	@ApiResponse(responseCode = "423", description = "The state is locked and no Lock-Id was given")
	@ApiResponse(responseCode = "413", description = "Larger than statekeeper.storage.max-state-size")
	@ApiResponse(responseCode = "415", description = "Not application/json")
	@ApiResponse(responseCode = "422", description = "JSON, but not a state")
	@ApiResponse(responseCode = "503",
			description = "Busy, too many large writes at once, damaged, or the store is unavailable (Retry-After)")
	@ApiResponse(responseCode = "507", description = "The store is full")
	ResponseEntity<StateSummary> put(@PathVariable String name,
			@RequestHeader(name = HttpHeaders.IF_MATCH, required = false) String ifMatch,
			@RequestHeader(name = HttpHeaders.IF_NONE_MATCH, required = false) String ifNoneMatch,
			@RequestHeader(name = LOCK_ID, required = false) String lockId,
			@Parameter(hidden = true) HttpServletRequest request) throws IOException {
		StateService.checkName(name);
		requireUtf8(request);
		Precondition precondition = Precondition.parse(ifMatch, ifNoneMatch).withLock(lockId);
		return written(this.bodies.read(request, (body) -> this.service.put(name, body, precondition)));
	}

	@PatchMapping(path = "/{name}", consumes = { StatePatch.JSON_PATCH, StatePatch.MERGE_PATCH },
			produces = MediaType.APPLICATION_JSON_VALUE)
	@Operation(summary = "Change part of a state: JSON Patch (RFC 6902) or JSON Merge Patch (RFC 7396)",
			description = "Applied to the current revision under the state's writer lock, all operations or none; "
					+ "If-Match is optional. The result must be a valid state and is stored as a new revision, "
					+ "serialized anew.")
	@RequestBody(required = true,
			content = { @Content(mediaType = StatePatch.JSON_PATCH, schema = @Schema(type = "array")),
					@Content(mediaType = StatePatch.MERGE_PATCH, schema = @Schema(type = "object")) })
	@ApiResponse(responseCode = "200", description = "Patched; the new revision")
	@ApiResponse(responseCode = "400", description = "Malformed JSON, or not a patch document")
	@ApiResponse(responseCode = "404", description = "No such state")
	@ApiResponse(responseCode = "409",
			description = "An operation cannot be applied (a failed test, a missing path), or lock-not-held")
	@ApiResponse(responseCode = "412", description = "If-Match does not hold")
	@ApiResponse(responseCode = "415", description = "Neither JSON Patch nor JSON Merge Patch")
	@ApiResponse(responseCode = "422", description = "The patched document is not a state")
	@ApiResponse(responseCode = "423", description = "The state is locked and no Lock-Id was given")
	ResponseEntity<StateSummary> patch(@PathVariable String name,
			@RequestHeader(name = HttpHeaders.IF_MATCH, required = false) String ifMatch,
			@RequestHeader(name = LOCK_ID, required = false) String lockId,
			@Parameter(hidden = true) HttpServletRequest request) throws IOException {
		StateService.checkName(name);
		requireUtf8(request);
		Precondition precondition = Precondition.parse(ifMatch, null).withLock(lockId);
		MediaType type = MediaType.parseMediaType(request.getContentType());
		String mediaType = type.getType() + "/" + type.getSubtype();
		WriteResult result = this.bodies.read(request,
				(body) -> this.service.patch(name, mediaType, body, precondition));
		return ResponseEntity.ok().eTag(etag(result.summary())).body(result.summary());
	}

	@DeleteMapping("/{name}")
	@Operation(summary = "Delete a state (its history is kept)")
	@ApiResponse(responseCode = "204", description = "Deleted")
	@ApiResponse(responseCode = "403", description = "The state is damaged and the token is not an admin's")
	@ApiResponse(responseCode = "404", description = "No such state")
	@ApiResponse(responseCode = "412", description = "If-Match does not hold")
	@ApiResponse(responseCode = "409", description = "Lock-Id is not the state's lock (lock-not-held)")
	@ApiResponse(responseCode = "423", description = "The state is locked and no Lock-Id was given")
	ResponseEntity<Void> delete(@PathVariable String name,
			@RequestHeader(name = HttpHeaders.IF_MATCH, required = false) String ifMatch,
			@RequestHeader(name = LOCK_ID, required = false) String lockId,
			@Parameter(hidden = true) HttpServletRequest request) {
		StateService.checkName(name);
		this.service.delete(name, Precondition.parse(ifMatch, null).withLock(lockId), request.isUserInRole(ADMIN_ROLE));
		return ResponseEntity.noContent().build();
	}

	@GetMapping(path = "/{name}/versions", produces = MediaType.APPLICATION_JSON_VALUE)
	@Operation(summary = "List every readable revision, newest first")
	@ApiResponse(responseCode = "200", description = "The current version and the kept earlier ones")
	@ApiResponse(responseCode = "404", description = "No such state")
	List<VersionSummary> versions(@PathVariable String name) {
		return this.service.versions(StateService.checkName(name));
	}

	@GetMapping("/{name}/versions/{revision}")
	@Operation(summary = "Read one revision's exact bytes, verified against its checksum")
	@ApiResponse(responseCode = "200", description = "That revision",
			content = @Content(mediaType = "application/json", schema = @Schema(type = "object")))
	@ApiResponse(responseCode = "404", description = "No such state or revision")
	@ApiResponse(responseCode = "503", description = "The revision is damaged (moved to quarantine)")
	ResponseEntity<byte[]> version(@PathVariable String name, @PathVariable String revision) {
		StateService.checkName(name);
		return body(this.service.version(name, parseRevision(revision)));
	}

	@PostMapping(path = "/{name}/versions/{revision}/restore", produces = MediaType.APPLICATION_JSON_VALUE)
	@Operation(summary = "Make a kept revision current again, as a new revision")
	@ApiResponse(responseCode = "200", description = "Restored")
	@ApiResponse(responseCode = "404", description = "No such state or revision")
	@ApiResponse(responseCode = "412", description = "If-Match does not hold")
	@ApiResponse(responseCode = "409", description = "Lock-Id is not the state's lock (lock-not-held)")
	@ApiResponse(responseCode = "423", description = "The state is locked and no Lock-Id was given")
	ResponseEntity<StateSummary> restore(@PathVariable String name, @PathVariable String revision,
			@RequestHeader(name = HttpHeaders.IF_MATCH, required = false) String ifMatch,
			@RequestHeader(name = LOCK_ID, required = false) String lockId) {
		StateService.checkName(name);
		long parsed = parseRevision(revision);
		WriteResult result = this.service.restore(name, parsed, Precondition.parse(ifMatch, null).withLock(lockId));
		return ResponseEntity.ok().eTag(etag(result.summary())).body(result.summary());
	}

	private static ResponseEntity<byte[]> body(StoredVersion version) {
		return ResponseEntity.ok()
			.contentType(MediaType.APPLICATION_JSON)
			.eTag(etag(version.header()))
			.lastModified(version.header().updatedAt())
			.cacheControl(NO_CACHE)
			.body(version.body());
	}

	private static ResponseEntity<StateSummary> written(WriteResult result) {
		StateSummary summary = result.summary();
		if (result.created()) {
			return ResponseEntity.created(URI.create("/api/v1/states/" + summary.name()))
				.eTag(etag(summary))
				.body(summary);
		}
		return ResponseEntity.ok().eTag(etag(summary)).body(summary);
	}

	private static String etag(VersionHeader header) {
		return "\"" + header.revision() + "\"";
	}

	private static String etag(StateSummary summary) {
		return "\"" + summary.revision() + "\"";
	}

	private static long parseRevision(String revision) {
		if (revision.length() > 18 || !revision.chars().allMatch((c) -> c >= '0' && c <= '9') || revision.isEmpty()
				|| Long.parseLong(revision) < 1) {
			throw new StateProblemException(StateProblem.INVALID_REVISION, "A revision is a positive integer");
		}
		return Long.parseLong(revision);
	}

	private static void requireUtf8(HttpServletRequest request) {
		Charset charset = MediaType.parseMediaType(request.getContentType()).getCharset();
		if (charset != null && !charset.equals(StandardCharsets.UTF_8)) {
			throw new StateProblemException(StateProblem.UNSUPPORTED_CHARSET, "JSON must be UTF-8, not " + charset);
		}
	}

}
