package io.statekeeper.storage;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;

import javax.sql.DataSource;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The PostgreSQL engine ({@code statekeeper.storage.type=postgresql}): the same contract
 * as {@link FileStateRepository}, on the schema of {@code db/migration/postgresql}, for
 * any number of replicas on one database ({@link #shared()}).
 * <ul>
 * <li>A write is one transaction, acknowledged only once COMMIT returned. It locks its
 * state's row ({@code SELECT … FOR UPDATE}), the one mutex per state every replica takes,
 * and compares the current revision and the client lock with what the caller saw
 * ({@link LockFence}): two replicas can never both commit a revision, and a write
 * admitted under a lock another replica has since changed is refused
 * ({@link StorageException.Reason#CONFLICT}, nothing committed).</li>
 * <li>Lock changes take the same row lock and compare the lock they replace.</li>
 * <li>Every read verifies the SHA-256 of the bytes it returns ({@link PostgresVersions});
 * a row that no longer matches is reported as damaged, never served.</li>
 * <li>Lease times are judged by the database's clock ({@link SharedState#now()}), the one
 * clock all replicas share.</li>
 * <li>Any SQL failure is a {@link StorageException}: a database that does not answer is
 * {@link StorageException.Reason#IO_ERROR} (503 {@code storage-unavailable}), a
 * serialization failure or deadlock {@link StorageException.Reason#CONFLICT}, retried by
 * the service.</li>
 * </ul>
 */
public class PostgresStateRepository implements StateRepository {

	private static final Logger logger = LoggerFactory.getLogger(PostgresStateRepository.class);

	private final DataSource dataSource;

	private final int versionsKept;

	private final PostgresVersions versions;

	private volatile VersionRetention retention = VersionRetention.NONE;

	public PostgresStateRepository(DataSource dataSource, StorageProperties properties) {
		this(dataSource, properties, StateCipher.none());
	}

	public PostgresStateRepository(DataSource dataSource, StorageProperties properties, StateCipher cipher) {
		this.dataSource = dataSource;
		this.versionsKept = properties.backupsKept();
		this.versions = new PostgresVersions(cipher);
	}

	/**
	 * The service's store meters, as the file store has them where they mean something
	 * here: {@code statekeeper.storage.writable} is 1 while the database answers (the
	 * pool's own meters, {@code hikaricp.*}, are Boot's).
	 * @param registry where to register them
	 * @return this repository
	 */
	public PostgresStateRepository withMeters(io.micrometer.core.instrument.MeterRegistry registry) {
		io.micrometer.core.instrument.Gauge
			.builder("statekeeper.storage.writable", this,
					(store) -> (store.status().unavailableReason() == null) ? 1 : 0)
			.description("1 while the store accepts writes, 0 while it refuses them (the database does not answer)")
			.register(registry);
		return this;
	}

	@Override
	public boolean shared() {
		return true;
	}

	/**
	 * Runs one transaction (or, {@code readOnly}, statements in autocommit: each sees
	 * what was committed when it began, and reads take no transaction round trips); any
	 * SQL failure is a storage failure, nothing committed.
	 */
	private <T> T transaction(String action, boolean autocommit, SqlWork<T> work) {
		try (Connection connection = this.dataSource.getConnection()) {
			if (autocommit) {
				return work.run(connection);
			}
			connection.setAutoCommit(false);
			try {
				T result = work.run(connection);
				connection.commit();
				return result;
			}
			catch (SQLException | RuntimeException ex) {
				rollbackQuietly(connection);
				throw ex;
			}
		}
		catch (SQLException ex) {
			throw failure(action, ex);
		}
	}

	private <T> T transaction(String action, SqlWork<T> work) {
		return transaction(action, false, work);
	}

	/** Statements in autocommit: each commits (or reads) on its own. */
	private <T> T statements(String action, SqlWork<T> work) {
		return transaction(action, true, work);
	}

	/**
	 * A serialization failure ({@code 40001}), a deadlock ({@code 40P01}) or a revision
	 * another replica inserted first ({@code 23505}) is a conflict: nothing was
	 * committed, and trying again on what is current now will do. Anything else (the
	 * server gone, restarting, refusing connections, the pool timing out) is the store
	 * being unavailable.
	 */
	static StorageException failure(String action, SQLException ex) {
		String state = (ex.getSQLState() != null) ? ex.getSQLState() : "";
		StorageException.Reason reason = switch (state) {
			case "40001", "40P01", "23505" -> StorageException.Reason.CONFLICT;
			default -> StorageException.Reason.IO_ERROR;
		};
		return new StorageException(reason, "Could not " + action + " (PostgreSQL "
				+ (state.isEmpty() ? "unavailable" : state) + "): " + ex.getMessage(), ex);
	}

	private static void rollbackQuietly(Connection connection) {
		try {
			connection.rollback();
		}
		catch (SQLException ex) {
			// the connection is gone: so is the transaction
		}
	}

	@FunctionalInterface
	private interface SqlWork<T> {

		T run(Connection connection) throws SQLException;

	}

	// ------------------------------------------------------------------ reads

	/**
	 * {@inheritDoc}
	 * <p>
	 * Stops start-up when a version is encrypted with a key that is not configured: never
	 * a state silently unreadable.
	 */
	@Override
	public List<LoadedState> loadAll() {
		statements("check the encryption keys", (connection) -> {
			try (PreparedStatement select = connection
				.prepareStatement("SELECT DISTINCT key FROM versions WHERE key IS NOT NULL");
					ResultSet rows = select.executeQuery()) {
				while (rows.next()) {
					if (!this.versions.knows(rows.getString(1))) {
						throw new IllegalStateException("Versions in the database are encrypted with key '"
								+ rows.getString(1) + "', which is not configured (statekeeper.encryption.keys): keep "
								+ "every key that encrypted a kept version");
					}
				}
			}
			return null;
		});
		return reloadAll((name) -> null).stream()
			.map(SharedState::state)
			.filter((state) -> state.current() != null || state.condition() != LoadedState.Condition.OK)
			.toList();
	}

	/**
	 * {@inheritDoc}
	 * <p>
	 * One statement reads the state's row, its lock and the database's clock (one
	 * snapshot); a second reads the current version only when it is not {@code known}.
	 */
	@Override
	public SharedState reload(String name, StoredVersion known) {
		return statements("read '" + name + "'", (connection) -> {
			try (PreparedStatement select = connection.prepareStatement("SELECT statement_timestamp(), "
					+ "s.last_revision, s.current_revision, l.name, l.id, l.info, l.sha256, l.acquired_at, l.expires_at "
					+ "FROM (VALUES (?)) AS n (name) LEFT JOIN states s ON s.name = n.name "
					+ "LEFT JOIN locks l ON l.name = n.name")) {
				select.setString(1, name);
				try (ResultSet row = select.executeQuery()) {
					row.next();
					Instant now = row.getTimestamp(1).toInstant();
					StoredLock lock = (row.getString(4) != null) ? PostgresLocks.lock(row, 4, now) : null;
					long last = row.getLong(2);
					if (row.wasNull()) {
						return new SharedState(never(name), lock, now);
					}
					return new SharedState(state(connection, name, last, revision(row, 3), known), lock, now);
				}
			}
		});
	}

	@Override
	public List<SharedState> reloadAll(Function<String, StoredVersion> known) {
		return statements("load the states", (connection) -> {
			Instant now = now(connection);
			Map<String, StoredLock> locks = PostgresLocks.all(connection, now);
			List<SharedState> states = new ArrayList<>();
			try (PreparedStatement select = connection
				.prepareStatement("SELECT name, last_revision, current_revision FROM states ORDER BY name");
					ResultSet rows = select.executeQuery()) {
				while (rows.next()) {
					String name = rows.getString(1);
					LoadedState state = state(connection, name, rows.getLong(2), revision(rows, 3), known.apply(name));
					states.add(new SharedState(state, locks.remove(name), now));
				}
			}
			locks.forEach((name, lock) -> states.add(new SharedState(never(name), lock, now)));
			return states;
		});
	}

	/** A name with nothing ever stored (a lock, perhaps). */
	private static LoadedState never(String name) {
		return new LoadedState(name, null, 0, LoadedState.Condition.OK, List.of(), false);
	}

	private LoadedState state(Connection connection, String name, long last, Long current, StoredVersion known)
			throws SQLException {
		if (current == null) {
			return new LoadedState(name, null, last, LoadedState.Condition.OK, List.of(), false);
		}
		StoredVersion version = (known != null && known.header().revision() == current) ? known
				: this.versions.read(connection, name, current);
		if (version != null) {
			return new LoadedState(name, version, last, LoadedState.Condition.OK, List.of(), false);
		}
		List<Long> valid = new ArrayList<>();
		for (VersionHeader header : PostgresVersions.headers(connection, name, current)) {
			if (this.versions.read(connection, name, header.revision()) != null) {
				valid.add(header.revision());
			}
		}
		logger.warn("The current version of '{}' (revision {}) failed verification", name, current);
		return new LoadedState(name, null, last,
				valid.isEmpty() ? LoadedState.Condition.UNRECOVERABLE : LoadedState.Condition.HELD, valid, false);
	}

	private static Long revision(ResultSet row, int column) throws SQLException {
		long value = row.getLong(column);
		return row.wasNull() ? null : value;
	}

	private static Instant now(Connection connection) throws SQLException {
		try (PreparedStatement select = connection.prepareStatement("SELECT statement_timestamp()");
				ResultSet row = select.executeQuery()) {
			row.next();
			return row.getTimestamp(1).toInstant();
		}
	}

	@Override
	public List<VersionHeader> versions(String name) {
		return statements("list the versions of '" + name + "'", (connection) -> {
			Long current = currentRevision(connection, name);
			return (current != null) ? PostgresVersions.headers(connection, name, current) : List.of();
		});
	}

	@Override
	public StoredVersion readVersion(String name, long revision) {
		return statements("read revision " + revision + " of '" + name + "'", (connection) -> {
			if (!PostgresVersions.exists(connection, name, revision)) {
				return null;
			}
			StoredVersion version = this.versions.read(connection, name, revision);
			if (version == null) {
				throw new StorageException(StorageException.Reason.CORRUPT,
						"Revision " + revision + " of '" + name + "' failed its checksum");
			}
			return version;
		});
	}

	// ------------------------------------------------------------------ writes

	/**
	 * {@inheritDoc}
	 * <p>
	 * Here the caller's last word runs first (nothing is in the database before the one
	 * statement that commits the write), then {@link #commit}.
	 */
	@Override
	public VersionHeader write(String name, VersionHeader previous, long revision, ChecksummedBody body,
			Instant updatedAt, VersionHeader.Audit audit, LockFence fence, Runnable beforePublish) {
		StateName.require(name);
		PostgresVersions.Row version = this.versions.row(name, revision, body, updatedAt, false, audit);
		beforePublish.run();
		return commit(version, previous, fence);
	}

	@Override
	public VersionHeader delete(String name, VersionHeader previous, long revision, Instant deletedAt,
			VersionHeader.Audit audit, LockFence fence) {
		StateName.require(name);
		return commit(this.versions.row(name, revision, ChecksummedBody.of(new byte[0]), deletedAt, true, audit),
				previous, fence);
	}

	/**
	 * Commits a version in one statement (autocommit: its COMMIT is the statement's own
	 * round trip): it moves the state's row to the new revision only if the row is still
	 * at {@code previous} (with no {@code previous}: no current version, or one whose row
	 * fails its checksum, as a held state's does), the revision was never used, and its
	 * lock is the fence's (taking the row lock, so that another replica's write or lock
	 * change waits, then finds the row moved); only then inserts the version (the primary
	 * key refuses a revision committed before) and prunes beyond {@code backups-kept}
	 * (and what retention holds). A row that moved meanwhile commits nothing: a conflict.
	 */
	private VersionHeader commit(PostgresVersions.Row version, VersionHeader previous, LockFence fence) {
		VersionHeader header = version.header();
		String name = header.name();
		return statements("write revision " + header.revision() + " of '" + name + "'", (connection) -> {
			if (previous == null) {
				// a name never stored (or only ever refused) has no row to move yet
				try (PreparedStatement insert = connection.prepareStatement(
						"INSERT INTO states (name, last_revision) VALUES (?, 0) ON CONFLICT (name) DO NOTHING")) {
					insert.setString(1, name);
					insert.executeUpdate();
				}
			}
			int committed;
			try (PreparedStatement statement = connection.prepareStatement("WITH moved AS (UPDATE states SET "
					+ "last_revision = ?, current_revision = ? WHERE name = ? AND (current_revision IS NOT DISTINCT FROM "
					+ "?::bigint OR (?::bigint IS NULL AND NOT EXISTS (SELECT 1 FROM versions v WHERE v.name = "
					+ "states.name AND v.revision = states.current_revision AND v.size = length(v.body) AND "
					+ "v.sha256 = encode(sha256(v.body), 'hex')))) AND last_revision < ? "
					+ "AND (?::boolean OR lock_id IS NOT DISTINCT FROM ?::text) "
					+ "RETURNING name), pruned AS (DELETE FROM versions WHERE name = (SELECT name FROM moved) AND "
					+ "revision < ? AND revision < ? AND revision NOT IN (SELECT revision FROM versions WHERE name = ? "
					+ "AND revision < ? ORDER BY revision DESC LIMIT ?)) INSERT INTO versions ("
					+ PostgresVersions.COLUMNS + ") SELECT " + PostgresVersions.VALUES + " FROM moved")) {
				int at = 1;
				statement.setLong(at++, header.revision());
				statement.setLong(at++, header.revision());
				statement.setString(at++, name);
				Long expected = (previous != null) ? previous.revision() : null;
				statement.setObject(at++, expected, java.sql.Types.BIGINT);
				statement.setObject(at++, expected, java.sql.Types.BIGINT);
				statement.setLong(at++, header.revision());
				statement.setBoolean(at++, !fence.checked());
				statement.setString(at++, fence.lockId());
				statement.setLong(at++, header.revision());
				statement.setLong(at++, this.retention.firstRetained(name));
				statement.setString(at++, name);
				statement.setLong(at++, header.revision());
				statement.setInt(at++, this.versionsKept);
				PostgresVersions.bind(statement, at, version);
				committed = statement.executeUpdate();
			}
			if (committed != 1) {
				throw new StorageException(StorageException.Reason.CONFLICT, "'" + name + "' changed underneath: "
						+ "its revision or its lock is no longer what this write was decided on; nothing committed");
			}
			return header;
		});
	}

	/**
	 * Locks a state's row (creating it for a new name): the one mutex per state that
	 * every replica's writes and lock changes take.
	 */
	private static void lockRow(Connection connection, String name) throws SQLException {
		try (PreparedStatement insert = connection.prepareStatement("INSERT INTO states (name, last_revision) "
				+ "VALUES (?, 0) ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name")) {
			insert.setString(1, name);
			insert.executeUpdate();
		}
	}

	private static Long currentRevision(Connection connection, String name) throws SQLException {
		try (PreparedStatement select = connection
			.prepareStatement("SELECT current_revision FROM states WHERE name = ?")) {
			select.setString(1, name);
			try (ResultSet row = select.executeQuery()) {
				return row.next() ? revision(row, 1) : null;
			}
		}
	}

	// ------------------------------------------------------------------ locks

	@Override
	public Map<String, StoredLock> loadLocks() {
		return statements("load the locks", (connection) -> PostgresLocks.all(connection, now(connection)));
	}

	@Override
	public void writeLock(StoredLock lock) {
		changeLock(lock.name(), false, null, lock);
	}

	@Override
	public void writeLock(StoredLock lock, String expectedId) {
		changeLock(lock.name(), true, expectedId, lock);
	}

	@Override
	public void deleteLock(String name) {
		changeLock(name, false, null, null);
	}

	@Override
	public void deleteLock(String name, String expectedId) {
		changeLock(name, true, expectedId, null);
	}

	/**
	 * Writes ({@code lock} not null) or removes a state's lock under its row lock, if
	 * {@code compare}, only when the lock is still {@code expectedId}.
	 */
	private void changeLock(String name, boolean compare, String expectedId, StoredLock lock) {
		StateName.require(name);
		transaction(((lock != null) ? "write" : "remove") + " the lock of '" + name + "'", (connection) -> {
			lockRow(connection, name);
			if (compare) {
				String held = PostgresLocks.id(connection, name);
				if (!Objects.equals(held, expectedId)) {
					throw new StorageException(StorageException.Reason.CONFLICT,
							"The lock of '" + name + "' changed underneath: it is " + held + ", not " + expectedId);
				}
			}
			if (lock == null) {
				PostgresLocks.remove(connection, name);
			}
			else {
				PostgresLocks.put(connection, lock);
			}
			// the id on the state's row too, which a write checks as it moves the row
			try (PreparedStatement mark = connection.prepareStatement("UPDATE states SET lock_id = ? WHERE name = ?")) {
				mark.setString(1, (lock != null) ? lock.id() : null);
				mark.setString(2, name);
				mark.executeUpdate();
			}
			return null;
		});
	}

	// ------------------------------------------------------------------ the rest

	@Override
	public void setRetention(VersionRetention retention) {
		this.retention = retention;
	}

	/**
	 * Readiness: whether the database answers now (within 2 s). Kept versions are not
	 * counted here (that would scan the table at every probe): {@code -1}.
	 */
	@Override
	public StorageStatus status() {
		String unavailable = null;
		try (Connection connection = this.dataSource.getConnection()) {
			if (!connection.isValid(2)) {
				unavailable = "the database does not answer";
			}
		}
		catch (SQLException ex) {
			unavailable = "the database does not answer (" + ex.getSQLState() + ")";
		}
		return new StorageStatus(Path.of("postgresql"), -1, 0, unavailable == null, null, -1, 0, "postgresql",
				unavailable);
	}

}
