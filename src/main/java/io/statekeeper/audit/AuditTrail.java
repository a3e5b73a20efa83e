package io.statekeeper.audit;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.servlet.http.HttpServletRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.boot.health.contributor.AbstractHealthIndicator;
import org.springframework.boot.health.contributor.Health;
import org.springframework.context.event.EventListener;
import org.springframework.stereotype.Component;
import org.springframework.web.context.request.RequestContextHolder;
import org.springframework.web.context.request.ServletRequestAttributes;

import io.statekeeper.security.SecurityProperties;
import io.statekeeper.state.Caller;
import io.statekeeper.state.StateWriteEvent;
import io.statekeeper.state.WriteAudit;
import io.statekeeper.storage.StateRepository;
import io.statekeeper.storage.StorageIo;
import io.statekeeper.storage.StorageProperties;
import io.statekeeper.storage.VersionHeader;
import io.statekeeper.storage.VersionRetention;

/**
 * Who did what: every PUT, DELETE and restore that reached the service (whatever its
 * outcome), every write a token was refused (403), and every damaged state start-up
 * found, appended to the {@link AuditLog} before the client is answered. Requests without
 * a valid token (401) name nobody: they are counted
 * ({@code statekeeper.security.refusals}) and summed up in the log once a minute, so that
 * nobody can fill the disk with audit entries.
 * <p>
 * Durability without a second fsync per write: a successful write records who made it in
 * its version header ({@link #headerFields}), so its audit fields are durable with the
 * state itself; its log entry is group-committed, and {@link AuditRecovery} re-appends,
 * at start-up, any entry a crash lost. So a version stays on disk until its entry is
 * durable: pruning leaves it ({@link #firstRetained}) until the flusher's group commit,
 * which then prunes it, and a write that replaces a version that is not kept waits for
 * its entry ({@link #awaitDurableUpTo}). Every other entry (refused, rejected, failed,
 * recovery) carries nothing on disk, so it is fdatasync'ed before the client is answered.
 * Also the {@code audit} health indicator (chain intact, entries).
 * <p>
 * Somewhat over 400 lines: it is where the audit trail meets the rest of the service
 * (write events, refusals, version-header fields, retention, start-up anchors, health),
 * each a few lines over {@link AuditLog}; split further, each part would be a class of
 * one method.
 */
@Component("audit")
public class AuditTrail extends AbstractHealthIndicator
		implements WriteAudit, VersionRetention, SmartInitializingSingleton, AutoCloseable {

	private static final Logger logger = LoggerFactory.getLogger(AuditTrail.class);

	private final AuditStore log;

	private final StateRepository repository;

	private final Clock clock;

	private final Counter failures;

	private final Counter unauthenticated;

	private final Counter forbidden;

	/** Unauthenticated refusals not yet logged, and when they were last logged. */
	private final RefusalSummary refusals = new RefusalSummary();

	/**
	 * Per state, the entries of successful writes that may not be durable yet: {revision,
	 * sequence}, oldest first. A writer adds under its state's lock, the flusher's
	 * pruning reads from its own thread: every access holds the queue's monitor.
	 */
	private final Map<String, ArrayDeque<long[]>> pending = new ConcurrentHashMap<>();

	AuditTrail(StorageProperties storage, SecurityProperties security, Clock clock, MeterRegistry registry,
			StateRepository repository, StorageIo io) {
		this(storage, security, clock, registry, repository, io, (javax.sql.DataSource) null);
	}

	/**
	 * @param dataSource the database of a store replicas share, where the chain is kept
	 * too ({@link PostgresAuditLog}); {@code null} for the file store's log
	 */
	@org.springframework.beans.factory.annotation.Autowired
	AuditTrail(StorageProperties storage, SecurityProperties security, Clock clock, MeterRegistry registry,
			StateRepository repository, StorageIo io,
			org.springframework.beans.factory.ObjectProvider<javax.sql.DataSource> dataSources) {
		this(storage, security, clock, registry, repository, io,
				(repository.shared() && dataSources != null) ? dataSources.getObject() : null);
	}

	private AuditTrail(StorageProperties storage, SecurityProperties security, Clock clock, MeterRegistry registry,
			StateRepository repository, StorageIo io, javax.sql.DataSource dataSource) {
		Path dataDir = storage.dataDir().toAbsolutePath().normalize();
		Path dir = dataDir.resolve("audit");
		AuditChain chain = new AuditChain(key(security.auditKeyFile(), dataDir));
		// once entries are durable, the versions pruning held back for them can go;
		// half the states' free-space margin is kept for the log, so writes are refused
		// before their audit could be
		this.log = (dataSource != null) ? new PostgresAuditLog(dataSource, chain, security.auditFlushInterval())
				: new AuditLog(dir, io, security.auditMaxFileSize().toBytes(), security.auditMaxFiles(),
						storage.minFreeSpace().toBytes() / 2, security.auditFlushInterval(), chain,
						repository::pruneHeldBack);
		if (!chain.keyed()) {
			logger.warn("The audit chain is not keyed: set statekeeper.security.audit-key-file (outside the data "
					+ "directory) so that nobody who can write the data directory can rewrite it");
		}
		this.clock = clock;
		this.repository = repository;
		this.failures = Counter.builder("statekeeper.audit.failures")
			.description("Audit entries that could not be written")
			.register(registry);
		this.unauthenticated = refusals(registry, "unauthorized");
		this.forbidden = refusals(registry, "forbidden");
		Gauge.builder("statekeeper.audit.chain.intact", this.log, (log) -> (log.chainBreak() == null) ? 1 : 0)
			.description("1 while the audit log's chain verified at start-up (no edit, gap, cut or rewrite)")
			.register(registry);
		Gauge.builder("statekeeper.audit.durable", this.log, (log) -> (log.durabilityLost() == null) ? 1 : 0)
			.description("1 while audit entries can be made durable; 0 after a failed fdatasync, until a restart")
			.register(registry);
	}

	/**
	 * Once every bean exists, before the web server takes requests: the repository keeps
	 * the versions this trail still needs (the explicit end of what would otherwise be a
	 * circular dependency: the trail needs the repository to prune, the repository this
	 * trail's rule).
	 */
	@Override
	public void afterSingletonsInstantiated() {
		this.repository.setRetention(this);
	}

	private static Counter refusals(MeterRegistry registry, String reason) {
		return Counter.builder("statekeeper.security.refusals")
			.description("Requests refused: unauthorized without a valid token (never audited one by one), "
					+ "forbidden for a role or scope that may not (writes audited)")
			.tag("reason", reason)
			.register(registry);
	}

	@EventListener
	void written(StateWriteEvent event) {
		// a write's entry is also in its version's header; a lock event has no version
		boolean inHeader = "success".equals(event.outcome()) && event.revision() > 0;
		long sequence = record(this.clock.instant(), event.action(), event.state(), event.revision(), event.checksum(),
				event.outcome(), event.reason(), currentToken(), currentRemote(), !inHeader);
		if (inHeader && sequence > 0) {
			// published under the state's lock, so one state's entries arrive in order
			ArrayDeque<long[]> entries = this.pending.computeIfAbsent(event.state(), (state) -> new ArrayDeque<>());
			synchronized (entries) {
				entries.addLast(new long[] { event.revision(), sequence });
			}
		}
	}

	@Override
	public VersionHeader.Audit headerFields(String action) {
		if (this.repository.shared()) {
			// replicas share the store, each has its own log: an anchor into this
			// replica's log would mean nothing to the others
			return new VersionHeader.Audit(action, currentToken(), currentRemote());
		}
		AuditLog.Head anchor = this.log.durableHead();
		return new VersionHeader.Audit(action, currentToken(), currentRemote(),
				(anchor.entries() > 0) ? anchor.entries() : null, (anchor.entries() > 0) ? anchor.hash() : null);
	}

	/**
	 * Start-up: proves the log still holds the newest entry a version header anchors
	 * (else the log was cut or replaced: reported as a break).
	 * @param headers the current version of each state
	 */
	void checkAnchors(Map<String, VersionHeader> headers) {
		headers.entrySet()
			.stream()
			.filter((named) -> named.getValue().audit() != null && named.getValue().audit().logEntries() != null)
			.max(java.util.Comparator.comparingLong((named) -> named.getValue().audit().logEntries()))
			.ifPresent((newest) -> {
				VersionHeader.Audit audit = newest.getValue().audit();
				boolean intact = this.log.chainBreak() == null;
				// the break names no state (health shows it on an open port); the log
				// does
				this.log.checkAnchor(new AuditLog.Head(audit.logEntries(), audit.logHead()),
						"the version header of revision " + newest.getValue().revision() + " (written "
								+ newest.getValue().updatedAt() + ")");
				if (intact && this.log.chainBreak() != null) {
					logger.error("The anchor the audit log failed is the current version of '{}'", newest.getKey());
				}
			});
	}

	/**
	 * Reads the chain's key: base64, at least 32 bytes, from a file outside the data
	 * directory (a key stored beside the log protects nothing).
	 */
	static byte[] key(Path file, Path dataDir) {
		if (file == null) {
			return null;
		}
		Path absolute = file.toAbsolutePath().normalize();
		if (absolute.startsWith(dataDir)) {
			throw new IllegalStateException("statekeeper.security.audit-key-file (" + file
					+ ") is inside the data directory: whoever can rewrite the log could read the key there");
		}
		byte[] key;
		try {
			key = java.util.Base64.getMimeDecoder()
				.decode(java.nio.file.Files.readString(absolute, java.nio.charset.StandardCharsets.US_ASCII).strip());
		}
		catch (java.io.IOException | IllegalArgumentException ex) {
			throw new IllegalStateException(
					"Cannot read statekeeper.security.audit-key-file (" + file + ") as base64: " + ex.getMessage(), ex);
		}
		if (key.length < 32) {
			throw new IllegalStateException("statekeeper.security.audit-key-file (" + file + ") holds " + key.length
					+ " bytes; the key must be at least 32 (head -c 32 /dev/urandom | base64)");
		}
		return key;
	}

	@Override
	public void awaitDurableUpTo(String name, long upToRevision) {
		ArrayDeque<long[]> entries = this.pending.get(name);
		if (entries == null) {
			return;
		}
		long needed = 0;
		synchronized (entries) {
			for (long[] entry : unsettled(entries)) {
				if (entry[0] <= upToRevision) {
					needed = Math.max(needed, entry[1]);
				}
			}
		}
		if (needed > 0) {
			this.log.sync(needed);
		}
	}

	@Override
	public long firstRetained(String name) {
		ArrayDeque<long[]> entries = this.pending.get(name);
		if (entries == null) {
			return Long.MAX_VALUE;
		}
		synchronized (entries) {
			ArrayDeque<long[]> left = unsettled(entries);
			return left.isEmpty() ? Long.MAX_VALUE : left.peekFirst()[0];
		}
	}

	/**
	 * Drops the entries that are durable by now; the caller holds the queue's monitor.
	 */
	private ArrayDeque<long[]> unsettled(ArrayDeque<long[]> entries) {
		long durable = this.log.durable();
		while (!entries.isEmpty() && entries.peekFirst()[1] <= durable) {
			entries.removeFirst();
		}
		return entries;
	}

	/**
	 * How many entries are durable (for tests).
	 * @return the sequence number of the newest durable entry
	 */
	long durable() {
		return this.log.durable();
	}

	/**
	 * Start-up: what the log held then, per state.
	 * @return state name to the newest revision logged as written
	 */
	Map<String, Long> lastLogged() {
		return this.log.lastLogged();
	}

	/**
	 * Appends an entry found in a version header but missing from the log (start-up).
	 * @param state the state
	 * @param header the version's header, with its audit fields
	 */
	void reappend(String state, VersionHeader header) {
		VersionHeader.Audit audit = header.audit();
		record(header.updatedAt(), audit.action(), state, header.revision(), header.checksum(), "success",
				"re-appended at start-up from the version header", audit.token(), audit.remote(), false);
	}

	/**
	 * Records what start-up recovery did to a damaged state (made durable by the next
	 * {@link #sync()}).
	 * @param event the recovery event
	 */
	void recovered(StateWriteEvent event) {
		record(this.clock.instant(), event.action(), event.state(), event.revision(), event.checksum(), event.outcome(),
				event.reason(), "statekeeper", "-", false);
	}

	/**
	 * Makes everything appended so far durable.
	 */
	void sync() {
		this.log.sync(Long.MAX_VALUE);
	}

	/**
	 * What the flusher does: makes everything appended so far durable, then prunes the
	 * versions held back for it.
	 */
	void flush() {
		this.log.flush();
	}

	/**
	 * A request refused before it reached the service: counted; a token's refused write
	 * is also audited.
	 * @param request the request
	 * @param reason {@code unauthorized} (401) or {@code forbidden} (403)
	 * @param token the id of the token that was refused, {@code null} without a valid one
	 */
	public void refused(HttpServletRequest request, String reason, String token) {
		if (token == null) {
			// nobody to name: counted and logged at a bounded rate, never an fsynced
			// entry each (anyone could fill the disk with them)
			this.unauthenticated.increment();
			this.refusals.add(request.getRemoteAddr(), this.clock.instant());
			return;
		}
		this.forbidden.increment();
		String action = switch (request.getMethod()) {
			case "PUT" -> "put";
			case "DELETE" -> "delete";
			case "POST" -> "restore";
			default -> null;
		};
		if (action == null) {
			// a read refused: counted, not audited (the trail is of writes)
			return;
		}
		String path = request.getRequestURI();
		String prefix = "/api/v1/states/";
		String state = path.startsWith(prefix) ? path.substring(prefix.length()).split("/", 2)[0] : path;
		record(this.clock.instant(), action, state, 0, null, "refused", reason, token, request.getRemoteAddr(), true);
	}

	/**
	 * Unauthenticated refusals, logged as one WARN line per minute at most: how many, and
	 * from which addresses (the first few).
	 */
	private static final class RefusalSummary {

		private static final java.time.Duration EVERY = java.time.Duration.ofMinutes(1);

		private long count;

		private final java.util.Set<String> addresses = new java.util.LinkedHashSet<>();

		private Instant logged = Instant.MIN;

		synchronized void add(String address, Instant now) {
			this.count++;
			if (this.addresses.size() < 5) {
				this.addresses.add(address);
			}
			if (!now.isBefore(this.logged.plus(EVERY))) {
				logger.warn("{} request(s) refused without a valid token since the last report, from {}{}", this.count,
						this.addresses, (this.addresses.size() == 5) ? " and maybe others" : "");
				this.count = 0;
				this.addresses.clear();
				this.logged = now;
			}
		}

	}

	List<Map<String, Object>> read(String state, Instant since, int limit,
			java.util.function.Predicate<String> visible) {
		return AuditReader.read(this.log,
				(entry) -> (state == null || state.equals(entry.get("state")))
						&& entry.get("state") instanceof String name && visible.test(name)
						&& (since == null || AuditReader.after(entry, since)),
				limit);
	}

	/**
	 * Appends an entry.
	 * @param sync whether to return only once it is durable
	 * @return its sequence number, 0 if it could not be written
	 */
	long record(Instant time, String action, String state, long revision, String checksum, String outcome,
			String reason, String token, String remote, boolean sync) {
		Map<String, Object> entry = AuditStore.entry(time, token, remote, action, state, revision, checksum, outcome,
				reason);
		try {
			long sequence = this.log.append(entry);
			if (sync) {
				this.log.sync(sequence);
			}
			return sequence;
		}
		catch (RuntimeException ex) {
			this.failures.increment();
			logger.error("Could not write an audit entry for {} of '{}': {}", action, state, ex.toString());
			return 0;
		}
	}

	private static String currentToken() {
		String token = Caller.token();
		return (token != null) ? token : "-";
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
		String lost = this.log.durabilityLost();
		builder.up()
			.withDetail("entries", this.log.entries())
			.withDetail("keyed", this.log.keyed())
			.withDetail("chainIntact", broken == null)
			.withDetail("durable", lost == null);
		if (broken != null) {
			builder.withDetail("chainBreak", broken);
		}
		if (lost != null) {
			builder.withDetail("durabilityLost", "an fdatasync of the audit log failed: restart");
		}
	}

	@Override
	public void close() {
		this.log.close();
	}

}
