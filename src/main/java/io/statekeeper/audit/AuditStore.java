package io.statekeeper.audit;

import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Map;

/**
 * Where the audit chain is kept: {@link AuditLog} (files in the data directory, the file
 * store's) or {@link PostgresAuditLog} (one table every replica appends to, the
 * PostgreSQL engine's). Both number entries, seal them with {@link AuditChain} and
 * group-commit them: {@link #append} queues or writes an entry and returns its number,
 * {@link #sync} returns once it is durable.
 */
interface AuditStore extends AutoCloseable {

	/**
	 * An entry's members, in the order every chain writes them (before {@code seq},
	 * {@code prev} and {@code hash}, which the chain adds).
	 */
	static Map<String, Object> entry(java.time.Instant time, String token, String remote, String action, String state,
			long revision, String checksum, String outcome, String reason) {
		Map<String, Object> entry = new java.util.LinkedHashMap<>();
		entry.put("time", time.toString());
		entry.put("token", token);
		entry.put("remote", remote);
		entry.put("action", action);
		entry.put("state", (state.length() > 200) ? state.substring(0, 200) : state);
		entry.put("revision", revision);
		entry.put("checksum", checksum);
		entry.put("outcome", outcome);
		entry.put("reason", reason);
		return entry;
	}

	/**
	 * Appends one entry.
	 * @param fields its members, in order (without {@code seq}, {@code prev},
	 * {@code hash})
	 * @return its number, for {@link #sync}
	 */
	long append(Map<String, Object> fields);

	/** Returns once entry {@code seq} and every one before it is durable. */
	void sync(long seq);

	/** The number of the newest durable entry ({@link #append}'s numbering). */
	long durable();

	/** The newest durable entry, for a version header's anchor (the file store's). */
	AuditLog.Head durableHead();

	/** What the flusher does every flush interval: makes everything appended durable. */
	void flush();

	/** Start-up: per state, the newest revision a successful write is logged with. */
	Map<String, Long> lastLogged();

	/** The chain's lines, oldest first. */
	List<InputStream> openForReading() throws IOException;

	/** Start-up: whether the chain still holds the entry an anchor names. */
	void checkAnchor(AuditLog.Head head, String where);

	/** Why the chain does not verify, {@code null} while it does. */
	String chainBreak();

	/** How many entries the chain holds. */
	long entries();

	/** Whether entries are sealed with a key (HMAC). */
	boolean keyed();

	/**
	 * Why entries can no longer be proven durable in this process, {@code null} while
	 * they can: after a failed fdatasync, a later one that succeeds proves nothing about
	 * the pages the kernel dropped, so nothing counts as durable any more until a
	 * restart.
	 */
	default String durabilityLost() {
		return null;
	}

	@Override
	void close();

}
