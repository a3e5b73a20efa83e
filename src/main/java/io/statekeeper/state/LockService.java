package io.statekeeper.state;

import java.util.Map;

import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import org.springframework.stereotype.Service;

import io.statekeeper.storage.StoredLock;

/**
 * Client locks on states, for the native API and Terraform's: leased, durable, fenced
 * (the rules are on {@link StateLocks}). A lock is described by the client's lock
 * information, a JSON object with at least an {@code ID} (Terraform's LockInfo:
 * {@code ID}, {@code Operation}, {@code Info}, {@code Who}, {@code Version},
 * {@code Created}, {@code Path}); it is kept and answered back as the exact bytes the
 * client sent.
 */
@Service
public class LockService {

	/** The longest lock id accepted. */
	static final int MAX_ID_LENGTH = 256;

	/** The most lock information accepted, in bytes. */
	public static final int MAX_INFO_SIZE = 64 * 1024;

	private static final JsonMapper MAPPER = JsonMapper.builder().build();

	private final StateService states;

	public LockService(StateService states) {
		this.states = states;
	}

	/**
	 * The lock a state has now.
	 * @param name the state
	 * @return the lock, {@code null} if unlocked
	 */
	public StoredLock current(String name) {
		return this.states.locks().current(StateService.checkName(name));
	}

	/**
	 * Locks a state (it need not exist yet).
	 * @param name the state
	 * @param info the lock information, a JSON object with an {@code ID}
	 * @return the lock now held
	 * @throws StateProblemException 400 for invalid lock information, 423 if another
	 * client holds the lock and its lease runs
	 */
	public StoredLock lock(String name, byte[] info) {
		StateService.checkName(name);
		String id = id(info, true);
		return this.states.locks().acquire(name, id, info);
	}

	/**
	 * Unlocks a state as a client does: the body names the lock (full lock information,
	 * or only its {@code ID}); an empty body forces whatever lock is held.
	 * @param name the state
	 * @param body the request body, possibly empty
	 * @return the lock released, {@code null} if the state was not locked
	 * @throws StateProblemException 400 for an invalid body, 409 if the body names a lock
	 * that is not the state's
	 */
	public StoredLock unlock(String name, byte[] body) {
		StateService.checkName(name);
		String id = (body == null || isBlank(body)) ? null : id(body, false);
		return this.states.locks().release(name, id);
	}

	/**
	 * Releases a state's lock by its id, or forces it.
	 * @param name the state
	 * @param id the holder's id, {@code null} to force
	 * @return the lock released, {@code null} if the state was not locked
	 */
	public StoredLock release(String name, String id) {
		StateService.checkName(name);
		return this.states.locks().release(name, id);
	}

	/**
	 * A lock as the native API shows it: the client's fields, then {@code acquiredAt} and
	 * {@code expiresAt}.
	 * @param lock the lock
	 * @return its fields
	 */
	public static Map<String, Object> describe(StoredLock lock) {
		return LockProblemException.describe(lock);
	}

	private static boolean isBlank(byte[] body) {
		for (byte b : body) {
			if (b != ' ' && b != '\n' && b != '\r' && b != '\t') {
				return false;
			}
		}
		return true;
	}

	private static String id(byte[] body, boolean whole) {
		if (body.length > MAX_INFO_SIZE) {
			throw invalid("Lock information is limited to " + MAX_INFO_SIZE + " bytes");
		}
		JsonNode node;
		try {
			node = MAPPER.readTree(body);
		}
		catch (JacksonException ex) {
			throw invalid("Lock information must be a JSON object: " + ex.getOriginalMessage());
		}
		if (node == null || !node.isObject()) {
			throw invalid("Lock information must be a JSON object");
		}
		JsonNode id = node.get("ID");
		if (id == null || !id.isString() || id.asString().isBlank()) {
			throw invalid("Lock information needs an ID (a non-empty string)"
					+ (whole ? "" : "; to force the lock, send no body"));
		}
		String value = id.asString();
		if (value.length() > MAX_ID_LENGTH || value.chars().anyMatch((c) -> c < 0x20 || c == 0x7f)) {
			throw invalid("A lock ID is at most " + MAX_ID_LENGTH + " printable characters");
		}
		return value;
	}

	private static StateProblemException invalid(String detail) {
		return new StateProblemException(StateProblem.INVALID_LOCK, detail);
	}

}
