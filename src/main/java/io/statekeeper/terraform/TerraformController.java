package io.statekeeper.terraform;

import java.io.IOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;

import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.Parameter;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.tags.Tag;
import jakarta.servlet.http.HttpServletRequest;

import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

import io.statekeeper.state.LockService;
import io.statekeeper.state.Precondition;
import io.statekeeper.state.StateBodies;
import io.statekeeper.state.StateProblem;
import io.statekeeper.state.StateProblemException;
import io.statekeeper.state.StateService;
import io.statekeeper.storage.StoredLock;
import io.statekeeper.storage.StoredVersion;

/**
 * Terraform's and OpenTofu's {@code backend "http"} protocol on
 * {@code /terraform/states/{name}}: the same states (one namespace, one history), the
 * same durable writes, checksums, audit and meters as the native API, and the same
 * leased, fenced locks.
 * <ul>
 * <li>{@code GET}: the stored bytes with {@code Content-MD5}; 404 when there is
 * none.</li>
 * <li>{@code POST [?ID=]}: stores a Terraform state (its {@code Content-MD5} checked)
 * through the serial/lineage guard; 200.</li>
 * <li>{@code DELETE [?ID=]}: deletes it, history kept; 200.</li>
 * <li>{@code LOCK} on the state or on {@code …/lock}, and {@code POST …/lock}: takes the
 * lock with Terraform's LockInfo; 423 with the holder's LockInfo.</li>
 * <li>{@code UNLOCK} on both addresses, and {@code DELETE …/lock}: releases the lock the
 * body names, or forces whatever lock is held when the body is empty
 * ({@code terraform force-unlock}); 409 with the holder's LockInfo when the body names
 * another lock.</li>
 * </ul>
 * A refusal because of a lock is answered with the holder's LockInfo as it was sent, as
 * Terraform reads it ({@code ProblemHandler}); every other refusal is a problem.
 */
@RestController
@RequestMapping("/terraform/states")
@Tag(name = "terraform", description = "Terraform and OpenTofu backend \"http\"")
class TerraformController {

	private static final String LOCK = "LOCK";

	private static final String UNLOCK = "UNLOCK";

	private final StateService states;

	private final LockService locks;

	private final StateBodies bodies;

	TerraformController(StateService states, LockService locks, StateBodies bodies) {
		this.states = states;
		this.locks = locks;
		this.bodies = bodies;
	}

	@GetMapping("/{name}")
	@Operation(summary = "Read a state for Terraform: the exact bytes, with Content-MD5")
	@ApiResponse(responseCode = "200", description = "The state")
	@ApiResponse(responseCode = "404", description = "No state yet (Terraform starts from an empty one)")
	ResponseEntity<byte[]> get(@PathVariable String name) {
		StoredVersion version = this.states.get(name);
		return ResponseEntity.ok()
			.contentType(MediaType.APPLICATION_JSON)
			.eTag("\"" + version.header().revision() + "\"")
			.header("Content-MD5", md5(version.body()))
			.body(version.body());
	}

	@PostMapping("/{name}")
	@Operation(summary = "Store a Terraform state",
			description = "The body must be a Terraform state (version 3 or 4, serial, lineage). With ?ID= the "
					+ "writer names the lock it holds. Refused with 409 for another lineage, a lower serial, or "
					+ "the same serial with other bytes; the same bytes again store nothing.")
	@ApiResponse(responseCode = "200", description = "Stored (or already stored)")
	@ApiResponse(responseCode = "400", description = "Malformed JSON, or Content-MD5 does not match")
	@ApiResponse(responseCode = "409",
			description = "lock-not-held, lineage-mismatch, serial-regressed or serial-reused; nothing stored")
	@ApiResponse(responseCode = "422", description = "JSON, but not a Terraform state")
	@ApiResponse(responseCode = "423", description = "Locked, and no ?ID= given: the holder's LockInfo")
	ResponseEntity<Void> post(@PathVariable String name, @RequestParam(name = "ID", required = false) String id,
			@RequestHeader(name = "Content-MD5", required = false) String contentMd5,
			@Parameter(hidden = true) HttpServletRequest request) throws IOException {
		Precondition precondition = Precondition.NONE.withLock(id);
		this.bodies.read(request, (body) -> {
			if (contentMd5 != null && !contentMd5.equals(md5(body.bytes()))) {
				throw new StateProblemException(StateProblem.CONTENT_MD5_MISMATCH,
						"Content-MD5 is " + contentMd5 + ", the body's is " + md5(body.bytes()));
			}
			return this.states.putTerraform(name, body, precondition);
		});
		return ResponseEntity.ok().build();
	}

	@DeleteMapping("/{name}")
	@Operation(summary = "Delete a state (its history is kept)")
	@ApiResponse(responseCode = "200", description = "Deleted")
	ResponseEntity<Void> delete(@PathVariable String name, @RequestParam(name = "ID", required = false) String id,
			@Parameter(hidden = true) HttpServletRequest request) {
		this.states.delete(name, Precondition.NONE.withLock(id), request.isUserInRole("ADMIN"));
		return ResponseEntity.ok().build();
	}

	@PostMapping("/{name}/lock")
	@Operation(summary = "Lock a state (lock_method = \"POST\"); LOCK does the same")
	@ApiResponse(responseCode = "200", description = "Locked")
	@ApiResponse(responseCode = "423", description = "Locked by another ID: its LockInfo")
	ResponseEntity<byte[]> postLock(@PathVariable String name, @Parameter(hidden = true) HttpServletRequest request)
			throws IOException {
		return lock(name, request);
	}

	@DeleteMapping("/{name}/lock")
	@Operation(summary = "Unlock a state (unlock_method = \"DELETE\"); UNLOCK does the same",
			description = "A body naming the lock releases it; an empty body forces whatever lock is held.")
	@ApiResponse(responseCode = "200", description = "Unlocked, or nothing was locked")
	@ApiResponse(responseCode = "409", description = "The body names another lock: the holder's LockInfo")
	ResponseEntity<byte[]> deleteLock(@PathVariable String name, @Parameter(hidden = true) HttpServletRequest request)
			throws IOException {
		return unlock(name, request);
	}

	/**
	 * {@code LOCK} and {@code UNLOCK} (WebDAV's methods, which Terraform uses by default)
	 * on both addresses; Spring MVC maps only the standard methods, so this takes the
	 * others and answers 405 for anything but these two.
	 */
	@RequestMapping(path = { "/{name}", "/{name}/lock" })
	@Operation(hidden = true)
	ResponseEntity<byte[]> lockMethods(@PathVariable String name, HttpServletRequest request) throws IOException {
		return switch (request.getMethod()) {
			case LOCK -> lock(name, request);
			case UNLOCK -> unlock(name, request);
			default -> ResponseEntity.status(HttpStatus.METHOD_NOT_ALLOWED)
				.header(HttpHeaders.ALLOW, "GET, POST, DELETE, LOCK, UNLOCK")
				.build();
		};
	}

	private ResponseEntity<byte[]> lock(String name, HttpServletRequest request) throws IOException {
		StoredLock lock = this.locks.lock(name, request.getInputStream().readNBytes(lockInfoLimit()));
		return ResponseEntity.ok().contentType(MediaType.APPLICATION_JSON).body(lock.info());
	}

	private ResponseEntity<byte[]> unlock(String name, HttpServletRequest request) throws IOException {
		// terraform force-unlock sends no bytes, chunked: never ask for a Content-Length
		this.locks.unlock(name, request.getInputStream().readNBytes(lockInfoLimit()));
		return ResponseEntity.ok().build();
	}

	private static int lockInfoLimit() {
		return LockService.MAX_INFO_SIZE + 1;
	}

	static String md5(byte[] body) {
		try {
			return Base64.getEncoder().encodeToString(MessageDigest.getInstance("MD5").digest(body));
		}
		catch (NoSuchAlgorithmException ex) {
			throw new IllegalStateException("MD5 is part of every Java platform", ex);
		}
	}

}
