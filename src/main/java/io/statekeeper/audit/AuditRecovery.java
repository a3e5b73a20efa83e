package io.statekeeper.audit;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.stereotype.Component;

import io.statekeeper.state.StateService;
import io.statekeeper.storage.StateRepository;
import io.statekeeper.storage.VersionHeader;

/**
 * Start-up, before the web server takes requests: checks the audit log against the anchor
 * of the newest version header, completes it from the version headers (a crash can lose
 * group-committed entries, never the headers that carry them), then records what start-up
 * recovery did to damaged states.
 */
@Component
class AuditRecovery {

	private static final Logger logger = LoggerFactory.getLogger(AuditRecovery.class);

	private record Missing(String state, VersionHeader header) {
	}

	AuditRecovery(AuditTrail trail, StateService service, StateRepository repository) {
		List<Missing> missing = new ArrayList<>();
		if (repository.shared()) {
			// each replica keeps its own log; what every replica wrote is in the shared
			// store's version rows (who, what, from where), not to be copied into this
			// log
			service.recoveredAtStartUp().forEach(trail::recovered);
			trail.sync();
			return;
		}
		// before anything is re-appended: does the log still hold what the newest
		// version header says was durable?
		trail.checkAnchors(service.currentHeaders());
		service.storedHeaders(trail.lastLogged()).forEach((state, headers) -> {
			for (VersionHeader header : headers) {
				if (header.audit() != null) {
					missing.add(new Missing(state, header));
				}
			}
		});
		missing.sort(Comparator.comparing((Missing entry) -> entry.header().updatedAt())
			.thenComparing(Missing::state)
			.thenComparingLong((entry) -> entry.header().revision()));
		for (Missing entry : missing) {
			trail.reappend(entry.state(), entry.header());
		}
		service.recoveredAtStartUp().forEach(trail::recovered);
		trail.sync();
		if (!missing.isEmpty()) {
			logger.warn("Re-appended {} audit entries from version headers (lost from the log by a crash)",
					missing.size());
		}
	}

}
