package io.statekeeper.system;

import java.net.URI;
import java.util.Map;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.ProblemDetail;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.HttpMediaTypeNotAcceptableException;
import org.springframework.web.HttpMediaTypeNotSupportedException;
import org.springframework.web.HttpRequestMethodNotSupportedException;
import org.springframework.web.bind.MissingRequestHeaderException;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;
import org.springframework.web.context.request.ServletWebRequest;
import org.springframework.web.context.request.WebRequest;
import org.springframework.web.servlet.mvc.method.annotation.ResponseEntityExceptionHandler;
import org.springframework.web.servlet.resource.NoResourceFoundException;
import org.springframework.web.util.DisconnectedClientHelper;

import io.statekeeper.state.StateProblem;
import io.statekeeper.state.LockProblemException;
import io.statekeeper.state.StateProblemException;
import io.statekeeper.storage.StoredLock;
import io.statekeeper.storage.StorageException;

/**
 * Every error as an RFC 9457 {@code application/problem+json} body with a stable
 * {@code type} per cause ({@value #TYPE_BASE}{@code <slug>}). No stack trace, file path
 * or exception class ever reaches a client.
 */
@RestControllerAdvice
class ProblemHandler extends ResponseEntityExceptionHandler {

	static final String TYPE_BASE = Problems.TYPE_BASE;

	/**
	 * The one {@code Retry-After} policy, in seconds: contention that clears by itself
	 * (another writer of the state, bodies filling {@code max-body-memory}) is worth a
	 * retry in a second; a store that failed an operation in five; a damaged state, a
	 * damaged version or a full store not at all, as waiting does not heal them.
	 * @return the header's value, {@code null} for none
	 */
	static String retryAfter(StateProblem problem) {
		return problem.retryLater() ? "1" : null;
	}

	/**
	 * {@link #retryAfter(StateProblem)} for a storage failure.
	 * @return the header's value, {@code null} for none
	 */
	static String retryAfter(StorageException.Reason reason) {
		return (reason == StorageException.Reason.CORRUPT || reason == StorageException.Reason.NO_SPACE) ? null : "5";
	}

	private static final Logger logger = LoggerFactory.getLogger(ProblemHandler.class);

	/** Logs a client that went away at DEBUG (its stack at TRACE) under this category. */
	private static final DisconnectedClientHelper DISCONNECTED = new DisconnectedClientHelper(
			"io.statekeeper.disconnected-client");

	/**
	 * A refusal because of a lock: on Terraform's endpoint, the holder's LockInfo as it
	 * was sent (Terraform prints the holder's ID from it); elsewhere, or with nothing
	 * locked, a problem with the holder in {@code lock}.
	 */
	@ExceptionHandler
	ResponseEntity<Object> handleLockProblem(LockProblemException ex, WebRequest request) {
		StoredLock holder = ex.getHolder();
		if (holder != null && request instanceof ServletWebRequest servlet
				&& servlet.getRequest().getRequestURI().startsWith("/terraform/")) {
			return ResponseEntity.status(ex.getProblem().status())
				.contentType(MediaType.APPLICATION_JSON)
				.body(holder.info());
		}
		return handleStateProblem(ex, request);
	}

	@ExceptionHandler
	ResponseEntity<Object> handleStateProblem(StateProblemException ex, WebRequest request) {
		StateProblem problem = ex.getProblem();
		ProblemDetail body = problem(problem.status(), problem.slug(), problem.title(), ex.getMessage());
		ex.getProperties().forEach(body::setProperty);
		HttpHeaders headers = new HttpHeaders();
		if (retryAfter(problem) != null) {
			headers.set(HttpHeaders.RETRY_AFTER, retryAfter(problem));
		}
		return ResponseEntity.status(problem.status()).headers(headers).body(body);
	}

	/**
	 * The status a storage failure is answered with: 507 for a full store, 503 for
	 * everything else (nothing else is 5xx).
	 * @param reason why the store failed
	 * @return the status
	 */
	static HttpStatus statusFor(StorageException.Reason reason) {
		return (reason == StorageException.Reason.NO_SPACE) ? HttpStatus.INSUFFICIENT_STORAGE
				: HttpStatus.SERVICE_UNAVAILABLE;
	}

	@ExceptionHandler
	ResponseEntity<Object> handleStorage(StorageException ex, WebRequest request) {
		HttpHeaders headers = new HttpHeaders();
		HttpStatus status = statusFor(ex.getReason());
		ProblemDetail body = switch (ex.getReason()) {
			case NO_SPACE -> problem(status, "storage-full", "Storage full",
					"The store has not enough free space for this write; nothing was changed");
			case CORRUPT -> problem(status, "version-damaged", "Version damaged",
					"This revision failed its checksum and is never served (the file store moves it to quarantine); "
							+ "list the versions for the " + "readable ones");
			case DURABILITY_UNKNOWN,
					STORE_DEGRADED ->
				problem(status, "storage-unavailable", "Storage unavailable",
						"The store refuses writes until it is restarted and re-verified (" + ex.getReason().tag()
								+ "); this write was not acknowledged");
			default -> problem(status, "storage-unavailable", "Storage unavailable",
					"The store could not complete the operation (" + ex.getReason().tag()
							+ "); the write was not acknowledged and the committed state is unchanged");
		};
		if (retryAfter(ex.getReason()) != null) {
			headers.set(HttpHeaders.RETRY_AFTER, retryAfter(ex.getReason()));
		}
		body.setProperty("reason", ex.getReason().tag());
		logger.warn("Storage failure answered with {}: {}", body.getStatus(), ex.getMessage());
		return ResponseEntity.status(body.getStatus()).headers(headers).body(body);
	}

	@ExceptionHandler
	ResponseEntity<Object> handleUnexpected(Exception ex, WebRequest request) {
		if (DISCONNECTED.checkAndLogClientDisconnectedException(ex)) {
			// the client went away mid-request (nothing was written): no one to answer,
			// nothing for an operator to fix
			return null;
		}
		logger.error("Unexpected error", ex);
		ProblemDetail body = problem(HttpStatus.INTERNAL_SERVER_ERROR, "internal-error", "Internal error",
				"An unexpected error occurred; it was logged");
		return ResponseEntity.internalServerError().body(body);
	}

	/** Gives Spring MVC's own problems (415, 405, 406, 400 …) our type URIs. */
	@Override
	protected ResponseEntity<Object> handleExceptionInternal(Exception ex, Object body, HttpHeaders headers,
			HttpStatusCode statusCode, WebRequest request) {
		ResponseEntity<Object> response = super.handleExceptionInternal(ex, body, headers, statusCode, request);
		if (response != null && response.getBody() instanceof ProblemDetail problem) {
			problem.setType(URI.create(TYPE_BASE + slugFor(ex, statusCode)));
		}
		return response;
	}

	private static final Map<Class<?>, String> SPRING_SLUGS = Map.of(HttpMediaTypeNotSupportedException.class,
			"unsupported-media-type", HttpMediaTypeNotAcceptableException.class, "not-acceptable",
			HttpRequestMethodNotSupportedException.class, "method-not-allowed", MissingRequestHeaderException.class,
			"missing-header", NoResourceFoundException.class, "not-found");

	private static String slugFor(Exception ex, HttpStatusCode status) {
		for (Map.Entry<Class<?>, String> entry : SPRING_SLUGS.entrySet()) {
			if (entry.getKey().isInstance(ex)) {
				return entry.getValue();
			}
		}
		return (status.value() == 413) ? "state-too-large" : "bad-request";
	}

	private static ProblemDetail problem(HttpStatus status, String slug, String title, String detail) {
		ProblemDetail body = ProblemDetail.forStatusAndDetail(status, detail);
		body.setType(URI.create(TYPE_BASE + slug));
		body.setTitle(title);
		return body;
	}

}
