package io.statekeeper.state;

import java.util.Map;

import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.parameters.RequestBody;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.tags.Tag;

import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;

import io.statekeeper.storage.StoredLock;

/**
 * The native API's locks: {@code GET}, {@code POST} and {@code DELETE} on
 * {@code /api/v1/states/{name}/lock}. The same locks as Terraform's, with the same rules
 * ({@link StateLocks}); a locked state's {@code PUT}, {@code DELETE} and restore need
 * {@code Lock-Id: <holder id>}.
 */
@RestController
@RequestMapping("/api/v1/states/{name}/lock")
@Tag(name = "locks", description = "Leased, fenced locks on states (the same as Terraform's)")
class LockController {

	private final LockService locks;

	LockController(LockService locks) {
		this.locks = locks;
	}

	@GetMapping(produces = MediaType.APPLICATION_JSON_VALUE)
	@Operation(summary = "Who holds the state's lock",
			description = "The lock information as the holder sent it, with acquiredAt and expiresAt.")
	@ApiResponse(responseCode = "200", description = "The lock")
	@ApiResponse(responseCode = "404", description = "The state is not locked")
	Map<String, Object> get(@PathVariable String name) {
		StoredLock lock = this.locks.current(name);
		if (lock == null) {
			throw new StateProblemException(StateProblem.NOT_FOUND, "'" + name + "' is not locked");
		}
		return LockService.describe(lock);
	}

	@PostMapping(consumes = { MediaType.APPLICATION_JSON_VALUE, "application/*+json" },
			produces = MediaType.APPLICATION_JSON_VALUE)
	@Operation(summary = "Lock the state (it need not exist yet)",
			description = "The body is the lock information, a JSON object with at least an ID (Terraform's LockInfo). "
					+ "The same ID again renews the lease. A lock held by another ID whose lease ran out is taken over, "
					+ "and the old ID is fenced.")
	@RequestBody(required = true,
			content = @Content(mediaType = "application/json",
					schema = @Schema(type = "object", requiredProperties = { "ID" })))
	@ApiResponse(responseCode = "200", description = "Locked; the lock")
	@ApiResponse(responseCode = "400", description = "Not a JSON object with an ID")
	@ApiResponse(responseCode = "423", description = "Locked by another ID whose lease runs; the holder is in lock")
	Map<String, Object> lock(@PathVariable String name,
			@org.springframework.web.bind.annotation.RequestBody byte[] info) {
		return LockService.describe(this.locks.lock(name, info));
	}

	@DeleteMapping
	@Operation(summary = "Release the state's lock, or force it",
			description = "With Lock-Id: releases that lock (409 if it is not the state's). Without: forces whatever "
					+ "lock is held (audited with the lock it removed).")
	@ApiResponse(responseCode = "204", description = "Released, or nothing was locked")
	@ApiResponse(responseCode = "409", description = "Lock-Id is not the state's lock; nothing was released")
	ResponseEntity<Void> unlock(@PathVariable String name,
			@RequestHeader(name = StateController.LOCK_ID, required = false) String lockId) {
		this.locks.release(name, (lockId == null || lockId.isEmpty()) ? null : lockId);
		return ResponseEntity.noContent().build();
	}

}
