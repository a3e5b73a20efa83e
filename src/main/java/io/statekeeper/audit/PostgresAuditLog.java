package io.statekeeper.audit;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import javax.sql.DataSource;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.statekeeper.storage.DaemonThreads;

/**
 * The audit chain of every replica in one table ({@code db/migration/postgresql}
 * {@code V3__audit.sql}): the same sealed lines as {@link AuditLog}'s file, one chain
 * whichever replica wrote. A replica queues its entries and appends them in batches, each
 * batch one transaction that locks the {@code audit_head} row, numbers and seals the
 * entries after the head, inserts them and moves the head: two replicas can never both
 * append entry N, so the chain never forks.
 * <ul>
 * <li><b>Group commit</b> as in the file: {@link #append} queues and returns a number of
 * this replica's own; {@link #sync} returns once that entry is committed (one transaction
 * for every entry queued so far); the flusher commits whatever is queued every flush
 * interval. A successful write's who, what and from where is also in its version row,
 * committed with the write.</li>
 * <li><b>The database unreachable</b>: entries stay queued (at most {@value #MAX_QUEUED};
 * beyond, an append fails and is counted) and go in with the next flush that reaches it;
 * a {@link #sync} fails meanwhile.</li>
 * <li><b>Start-up</b> verifies the whole chain: every line's hash, every {@code prev}, no
 * gap in {@code seq}. A break is reported ({@link #chainBreak}), never repaired.</li>
 * </ul>
 * Anchors (file-store version headers naming a log position) have no part here: replicas
 * share the states and the chain, and a version row is committed in the same database.
 */
final class PostgresAuditLog implements AuditStore {

	private static final Logger logger = LoggerFactory.getLogger(AuditLog.class);

	/** Entries queued at most while the database does not answer. */
	static final int MAX_QUEUED = 100_000;

	private final DataSource dataSource;

	private final AuditChain chain;

	/** Entries not committed yet, oldest first (guarded by this). */
	private final ArrayDeque<Queued> queue = new ArrayDeque<>();

	/** This replica's numbering of its entries (guarded by this). */
	private long appended;

	private volatile long committed;

	private volatile long entries;

	private final String chainBreak;

	private final Object flushLock = new Object();

	private final ScheduledExecutorService flusher;

	private record Queued(long number, Map<String, Object> fields) {
	}

	PostgresAuditLog(DataSource dataSource, AuditChain chain, Duration flushInterval) {
		this.dataSource = dataSource;
		this.chain = chain;
		this.chainBreak = verify();
		if (this.chainBreak != null) {
			logger.error("The audit chain in the database is broken: {}", this.chainBreak);
		}
		this.flusher = Executors.newSingleThreadScheduledExecutor(DaemonThreads.named("audit-flush"));
		long millis = Math.max(1, flushInterval.toMillis());
		this.flusher.scheduleWithFixedDelay(this::flush, millis, millis, TimeUnit.MILLISECONDS);
	}

	/** Checks every line of the chain in order; returns what breaks it, or null. */
	private String verify() {
		try (Connection connection = this.dataSource.getConnection();
				PreparedStatement select = connection.prepareStatement("SELECT seq, line FROM audit ORDER BY seq")) {
			connection.setAutoCommit(false);
			// read in pages: the chain may be long
			select.setFetchSize(1000);
			String prev = AuditChain.GENESIS;
			long expected = 1;
			try (ResultSet rows = select.executeQuery()) {
				while (rows.next()) {
					long seq = rows.getLong(1);
					AuditChain.Checked checked = this.chain.check(rows.getString(2).getBytes(StandardCharsets.UTF_8));
					if (seq != expected) {
						return "entry " + expected + " is missing (the next is " + seq + ")";
					}
					if (checked.problem() != null) {
						return "entry " + seq + ": " + checked.problem();
					}
					if (!prev.equals(checked.entry().get("prev"))
							|| !Long.valueOf(seq).equals(((Number) checked.entry().get("seq")).longValue())) {
						return "entry " + seq + " does not follow entry " + (seq - 1);
					}
					prev = checked.stored();
					expected++;
				}
			}
			connection.commit();
			this.entries = expected - 1;
			return null;
		}
		catch (SQLException ex) {
			throw new IllegalStateException("Cannot read the audit chain from the database: " + ex.getMessage(), ex);
		}
	}

	@Override
	public synchronized long append(Map<String, Object> fields) {
		if (this.queue.size() >= MAX_QUEUED) {
			throw new UncheckedIOException(new java.io.IOException(
					"The database has not taken audit entries for a while: " + MAX_QUEUED + " are queued"));
		}
		this.queue.addLast(new Queued(++this.appended, fields));
		return this.appended;
	}

	@Override
	public void sync(long seq) {
		long wanted;
		synchronized (this) {
			// Long.MAX_VALUE: everything appended so far
			wanted = Math.min(seq, this.appended);
		}
		if (this.committed >= wanted) {
			return;
		}
		commitQueued();
		if (this.committed < wanted) {
			throw new UncheckedIOException(
					new java.io.IOException("Audit entry " + seq + " was not committed to the database"));
		}
	}

	@Override
	public void flush() {
		try {
			commitQueued();
		}
		catch (RuntimeException ex) {
			logger.error("Could not commit audit entries to the database: {}", ex.toString());
		}
	}

	/**
	 * Commits every entry queued so far in one transaction, after the chain's head as the
	 * database has it (whichever replica moved it last).
	 */
	private void commitQueued() {
		synchronized (this.flushLock) {
			List<Queued> batch;
			synchronized (this) {
				batch = new ArrayList<>(this.queue);
			}
			if (batch.isEmpty()) {
				return;
			}
			long head;
			try (Connection connection = this.dataSource.getConnection()) {
				connection.setAutoCommit(false);
				try {
					head = append(connection, batch);
					connection.commit();
				}
				catch (SQLException | RuntimeException ex) {
					connection.rollback();
					throw ex;
				}
			}
			catch (SQLException ex) {
				throw new UncheckedIOException(new java.io.IOException(
						"Could not append " + batch.size() + " audit entries (PostgreSQL " + ex.getSQLState() + ")",
						ex));
			}
			synchronized (this) {
				for (int i = 0; i < batch.size(); i++) {
					this.queue.removeFirst();
				}
			}
			this.committed = batch.get(batch.size() - 1).number();
			this.entries = head;
		}
	}

	private long append(Connection connection, List<Queued> batch) throws SQLException {
		long seq;
		String prev;
		try (PreparedStatement select = connection
			.prepareStatement("SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE");
				ResultSet row = select.executeQuery()) {
			row.next();
			seq = row.getLong(1);
			prev = row.getString(2);
		}
		try (PreparedStatement insert = connection.prepareStatement("INSERT INTO audit (seq, line) VALUES (?, ?)")) {
			for (Queued queued : batch) {
				Map<String, Object> entry = new LinkedHashMap<>();
				entry.put("seq", ++seq);
				entry.putAll(queued.fields());
				entry.put("prev", prev);
				AuditChain.Sealed sealed = this.chain.seal(entry);
				byte[] line = sealed.line();
				insert.setLong(1, seq);
				insert.setString(2, new String(line, 0, line.length - 1, StandardCharsets.UTF_8));
				insert.addBatch();
				prev = sealed.hash();
			}
			insert.executeBatch();
		}
		try (PreparedStatement update = connection
			.prepareStatement("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1")) {
			update.setLong(1, seq);
			update.setString(2, prev);
			update.executeUpdate();
		}
		return seq;
	}

	@Override
	public long durable() {
		return this.committed;
	}

	@Override
	public AuditLog.Head durableHead() {
		return new AuditLog.Head(0, AuditChain.GENESIS);
	}

	@Override
	public Map<String, Long> lastLogged() {
		return Map.of();
	}

	@Override
	public List<InputStream> openForReading() {
		ByteArrayOutputStream lines = new ByteArrayOutputStream();
		try (Connection connection = this.dataSource.getConnection();
				PreparedStatement select = connection.prepareStatement("SELECT line FROM audit ORDER BY seq")) {
			connection.setAutoCommit(false);
			select.setFetchSize(1000);
			try (ResultSet rows = select.executeQuery()) {
				while (rows.next()) {
					lines.writeBytes(rows.getString(1).getBytes(StandardCharsets.UTF_8));
					lines.write('\n');
				}
			}
			connection.commit();
		}
		catch (SQLException ex) {
			throw new UncheckedIOException(new java.io.IOException("Cannot read the audit chain", ex));
		}
		return List.of(new ByteArrayInputStream(lines.toByteArray()));
	}

	@Override
	public void checkAnchor(AuditLog.Head head, String where) {
		// no anchors with a shared store (AuditTrail#headerFields)
	}

	@Override
	public String chainBreak() {
		return this.chainBreak;
	}

	@Override
	public long entries() {
		return this.entries;
	}

	@Override
	public boolean keyed() {
		return this.chain.keyed();
	}

	/** Stops the flusher and commits what is queued, if the database takes it. */
	@Override
	public void close() {
		this.flusher.shutdown();
		flush();
	}

}
