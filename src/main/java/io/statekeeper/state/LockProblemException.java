package io.statekeeper.state;

import java.util.LinkedHashMap;
import java.util.Map;

import io.statekeeper.storage.StoredLock;

/**
 * A request refused because of a lock: 423 (held by another client) or 409 (the named
 * lock is not the state's). Carries the holder, if any, so that each API can answer with
 * it in its own shape: a problem with a {@code lock} member on the native API, the
 * holder's lock information as it was sent on Terraform's.
 */
public class LockProblemException extends StateProblemException {

	private static final long serialVersionUID = 1L;

	private static final tools.jackson.databind.json.JsonMapper MAPPER = tools.jackson.databind.json.JsonMapper
		.builder()
		.build();

	private final transient StoredLock holder;

	LockProblemException(StateProblem problem, String detail, StoredLock holder) {
		super(problem, detail, (holder != null) ? Map.of("lock", describe(holder)) : Map.of());
		this.holder = holder;
	}

	/**
	 * The lock held now.
	 * @return the holder, {@code null} if the state is not locked
	 */
	public StoredLock getHolder() {
		return this.holder;
	}

	/**
	 * A lock as the native API shows it: the lock information's fields as the client sent
	 * them, then {@code acquiredAt} and {@code expiresAt}.
	 * @param lock the lock
	 * @return its fields
	 */
	@SuppressWarnings("unchecked")
	static Map<String, Object> describe(StoredLock lock) {
		Map<String, Object> described = new LinkedHashMap<>();
		try {
			described.putAll(MAPPER.readValue(lock.info(), LinkedHashMap.class));
		}
		catch (tools.jackson.core.JacksonException ex) {
			described.put("ID", lock.id());
		}
		described.put("acquiredAt", lock.acquiredAt().toString());
		described.put("expiresAt", lock.expiresAt().toString());
		return described;
	}

}
