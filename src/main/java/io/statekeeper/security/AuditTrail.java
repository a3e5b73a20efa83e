package io.statekeeper.security;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.servlet.http.HttpServletRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.boot.health.contributor.AbstractHealthIndicator;
import org.springframework.boot.health.contributor.Health;
import org.springframework.context.event.EventListener;
import org.springframework.security.core.Authentication;
import org.springframework.security.core.context.SecurityContextHolder;
import org.springframework.stereotype.Component;
import org.springframework.web.context.request.RequestContextHolder;
import org.springframework.web.context.request.ServletRequestAttributes;

import io.statekeeper.state.StateService;
import io.statekeeper.state.StateWriteEvent;
import io.statekeeper.storage.StorageProperties;

/**
 * Who did what: every PUT, DELETE and restore that reached the service (whatever its
 * outcome), every write refused by authentication or authorization, and every damaged
 * state start-up found, appended to the {@link AuditLog} before the client is answered.
 * Also the {@code audit} health indicator (chain intact, entries).
 */
@Component("audit")
class AuditTrail extends AbstractHealthIndicator implements AutoCloseable {

	private static final Logger logger = LoggerFactory.getLogger(AuditTrail.class);

	private final AuditLog log;

	private final Clock clock;

	private final StateService service;

	private final Counter failures;

	AuditTrail(StorageProperties storage, SecurityProperties security, Clock clock, StateService service,
			MeterRegistry registry) {
		Path dir = storage.dataDir().toAbsolutePath().normalize().resolve("audit");
		this.log = new AuditLog(dir, security.auditMaxFileSize().toBytes());
		this.clock = clock;
		this.service = service;
		this.failures = Counter.builder("statekeeper.audit.failures")
			.description("Audit entries that could not be written")
			.register(registry);
		Gauge.builder("statekeeper.audit.chain.intact", this.log, (log) -> (log.chainBreak() == null) ? 1 : 0)
			.description("1 while the audit log's hash chain verified at start-up")
			.register(registry);
	}

	@EventListener
	void written(StateWriteEvent event) {
		record(event.action(), event.state(), event.revision(), event.checksum(), event.outcome(), event.reason(),
				currentToken(), currentRemote());
	}

	@EventListener(ApplicationReadyEvent.class)
	void recoveredAtStartUp() {
		for (StateWriteEvent event : this.service.recoveredAtStartUp()) {
			record(event.action(), event.state(), event.revision(), event.checksum(), event.outcome(), event.reason(),
					"statekeeper", "-");
		}
	}

	/** A write refused before it reached the service (401, 403). */
	void refused(HttpServletRequest request, String reason, Authentication authentication) {
		String action = switch (request.getMethod()) {
			case "PUT" -> "put";
			case "DELETE" -> "delete";
			case "POST" -> "restore";
			default -> null;
		};
		if (action == null) {
			return;
		}
		String path = request.getRequestURI();
		String prefix = "/api/v1/states/";
		String state = path.startsWith(prefix) ? path.substring(prefix.length()).split("/", 2)[0] : path;
		String token = (authentication != null && authentication.isAuthenticated()
				&& authentication instanceof TokenAuthentication) ? authentication.getName() : "-";
		record(action, state, 0, null, "refused", reason, token, request.getRemoteAddr());
	}

	List<Map<String, Object>> read(String state, Instant since, int limit) {
		return this.log.read((entry) -> (state == null || state.equals(entry.get("state")))
				&& (since == null || AuditLog.after(entry, since)), limit);
	}

	private void record(String action, String state, long revision, String checksum, String outcome, String reason,
			String token, String remote) {
		Map<String, Object> entry = new LinkedHashMap<>();
		entry.put("time", this.clock.instant().toString());
		entry.put("token", token);
		entry.put("remote", remote);
		entry.put("action", action);
		entry.put("state", (state.length() > 200) ? state.substring(0, 200) : state);
		entry.put("revision", revision);
		entry.put("checksum", checksum);
		entry.put("outcome", outcome);
		entry.put("reason", reason);
		try {
			this.log.append(entry);
		}
		catch (RuntimeException ex) {
			this.failures.increment();
			logger.error("Could not write an audit entry for {} of '{}': {}", action, state, ex.toString());
		}
	}

	private static String currentToken() {
		Authentication authentication = SecurityContextHolder.getContext().getAuthentication();
		return (authentication instanceof TokenAuthentication) ? authentication.getName() : "-";
	}

	private static String currentRemote() {
		if (RequestContextHolder.getRequestAttributes() instanceof ServletRequestAttributes attributes) {
			return attributes.getRequest().getRemoteAddr();
		}
		return "-";
	}

	@Override
	protected void doHealthCheck(Health.Builder builder) {
		String broken = this.log.chainBreak();
		builder.up()
			.withDetail("directory", this.log.directory().toString())
			.withDetail("entries", this.log.entries())
			.withDetail("chainIntact", broken == null);
		if (broken != null) {
			builder.withDetail("chainBreak", broken);
		}
	}

	@Override
	public void close() {
		this.log.close();
	}

}
