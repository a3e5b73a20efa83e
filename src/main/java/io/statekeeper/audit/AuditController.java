package io.statekeeper.audit;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.Parameter;
import io.swagger.v3.oas.annotations.tags.Tag;

import org.springframework.http.MediaType;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RequestAttribute;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

import io.statekeeper.state.StateController;
import io.statekeeper.state.StateProblem;
import io.statekeeper.state.StateProblemException;

/**
 * {@code GET /api/v1/audit} (admin): the audit trail, oldest first; a token limited to
 * some states sees only their entries.
 */
@RestController
@Tag(name = "audit")
class AuditController {

	private final AuditTrail trail;

	AuditController(AuditTrail trail) {
		this.trail = trail;
	}

	@GetMapping(path = "/api/v1/audit", produces = MediaType.APPLICATION_JSON_VALUE)
	@Operation(summary = "Read the audit trail (admin)",
			description = "Filters: state (exact name), since (ISO-8601 instant); at most limit entries, the newest.")
	List<Map<String, Object>> audit(@RequestParam(required = false) String state,
			@RequestParam(required = false) String since, @RequestParam(defaultValue = "1000") int limit,
			@Parameter(hidden = true) @RequestAttribute(name = StateController.SCOPE_ATTRIBUTE,
					required = false) Predicate<String> scope) {
		Instant from = null;
		if (since != null) {
			try {
				from = Instant.parse(since);
			}
			catch (DateTimeParseException ex) {
				throw new StateProblemException(StateProblem.INVALID_QUERY,
						"since must be an ISO-8601 instant such as 2026-01-31T00:00:00Z");
			}
		}
		if (limit < 1 || limit > 100_000) {
			throw new StateProblemException(StateProblem.INVALID_QUERY, "limit must be between 1 and 100000");
		}
		// a scoped admin sees the entries of its own states only (a state parameter
		// outside the scope was refused by the security layer already)
		return this.trail.read(state, from, limit, (scope != null) ? scope : (name) -> true);
	}

}
