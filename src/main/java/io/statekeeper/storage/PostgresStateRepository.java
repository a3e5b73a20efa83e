package io.statekeeper.storage;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import javax.sql.DataSource;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.json.JsonMapper;

/**
 * The PostgreSQL engine (#18): the same contract as {@link FileStateRepository}, on the
 * schema of {@code db/migration/postgresql}. A write is one transaction, acknowledged
 * only once COMMIT returned; the state's row is locked ({@code SELECT … FOR UPDATE}) and
 * its current revision compared with the one the caller saw, so two writers can never
 * both commit a revision, whichever process they run in. Every read verifies the SHA-256
 * of the bytes it returns; a row that no longer matches is reported as damaged, never
 * served.
 *
 * <p>
 * Not yet selectable: {@code statekeeper.storage.type}, the service's reads across
 * replicas, encryption at rest and the audit log in the database are the next steps of
 * #18. It is tested against a real server by the same contract tests as the file engine.
 */
public class PostgresStateRepository implements StateRepository {

	private static final Logger logger = LoggerFactory.getLogger(PostgresStateRepository.class);

	private static final JsonMapper MAPPER = JsonMapper.builder().build();

	private final DataSource dataSource;

	private final int versionsKept;

	private volatile VersionRetention retention = VersionRetention.NONE;

	public PostgresStateRepository(DataSource dataSource, StorageProperties properties) {
		this.dataSource = dataSource;
		this.versionsKept = properties.backupsKept();
	}

	/** Runs one transaction; any SQL failure is a storage failure, nothing committed. */
	private <T> T transaction(String action, SqlWork<T> work) {
		try (Connection connection = this.dataSource.getConnection()) {
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
			throw new StorageException(StorageException.Reason.IO_ERROR,
					"Could not " + action + " (PostgreSQL " + ex.getSQLState() + "): " + ex.getMessage(), ex);
		}
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

	@Override
	public List<LoadedState> loadAll() {
		return transaction("load the states", (connection) -> {
			List<LoadedState> states = new ArrayList<>();
			try (PreparedStatement select = connection
				.prepareStatement("SELECT name, last_revision, current_revision FROM states ORDER BY name");
					ResultSet rows = select.executeQuery()) {
				while (rows.next()) {
					String name = rows.getString(1);
					long last = rows.getLong(2);
					long current = rows.getLong(3);
					if (rows.wasNull()) {
						continue;
					}
					StoredVersion version = read(connection, name, current);
					if (version != null) {
						states.add(new LoadedState(name, version, last, LoadedState.Condition.OK, List.of(), false));
					}
					else {
						List<Long> valid = validRevisions(connection, name, current);
						logger.warn("The current version of '{}' (revision {}) failed verification", name, current);
						states.add(new LoadedState(name, null, last,
								valid.isEmpty() ? LoadedState.Condition.UNRECOVERABLE : LoadedState.Condition.HELD,
								valid, false));
					}
				}
			}
			return states;
		});
	}

	private List<Long> validRevisions(Connection connection, String name, long except) throws SQLException {
		List<Long> valid = new ArrayList<>();
		for (VersionHeader header : headers(connection, name, except)) {
			if (read(connection, name, header.revision()) != null) {
				valid.add(header.revision());
			}
		}
		return valid;
	}

	/** A version, verified; {@code null} if it is missing or does not verify. */
	private static StoredVersion read(Connection connection, String name, long revision) throws SQLException {
		try (PreparedStatement select = connection.prepareStatement("SELECT deleted, body, sha256, size, updated_at, "
				+ "audit FROM versions WHERE name = ? AND revision = ?")) {
			select.setString(1, name);
			select.setLong(2, revision);
			try (ResultSet row = select.executeQuery()) {
				if (!row.next()) {
					return null;
				}
				byte[] body = row.getBytes(2);
				String sha256 = row.getString(3);
				if (body.length != row.getLong(4) || !sha256.equals(sha256(body))) {
					return null;
				}
				VersionHeader header = new VersionHeader(VersionFormat.FORMAT, name, revision, body.length, sha256,
						row.getTimestamp(5).toInstant(), row.getBoolean(1))
					.withAudit(audit(row.getString(6)));
				return new StoredVersion(header, body);
			}
		}
	}

	private static VersionHeader.Audit audit(String json) {
		return (json != null) ? MAPPER.readValue(json, VersionHeader.Audit.class) : null;
	}

	@Override
	public List<VersionHeader> versions(String name) {
		return transaction("list the versions of '" + name + "'", (connection) -> {
			Long current = currentRevision(connection, name);
			return (current != null) ? headers(connection, name, current) : List.of();
		});
	}

	private static List<VersionHeader> headers(Connection connection, String name, long except) throws SQLException {
		List<VersionHeader> headers = new ArrayList<>();
		try (PreparedStatement select = connection.prepareStatement("SELECT revision, deleted, sha256, size, "
				+ "updated_at FROM versions WHERE name = ? AND revision <> ? ORDER BY revision DESC")) {
			select.setString(1, name);
			select.setLong(2, except);
			try (ResultSet rows = select.executeQuery()) {
				while (rows.next()) {
					headers.add(new VersionHeader(VersionFormat.FORMAT, name, rows.getLong(1), rows.getLong(4),
							rows.getString(3), rows.getTimestamp(5).toInstant(), rows.getBoolean(2)));
				}
			}
		}
		return headers;
	}

	@Override
	public StoredVersion readVersion(String name, long revision) {
		return transaction("read revision " + revision + " of '" + name + "'", (connection) -> {
			boolean exists;
			try (PreparedStatement select = connection
				.prepareStatement("SELECT 1 FROM versions WHERE name = ? AND revision = ?")) {
				select.setString(1, name);
				select.setLong(2, revision);
				try (ResultSet row = select.executeQuery()) {
					exists = row.next();
				}
			}
			if (!exists) {
				return null;
			}
			StoredVersion version = read(connection, name, revision);
			if (version == null) {
				throw new StorageException(StorageException.Reason.CORRUPT,
						"Revision " + revision + " of '" + name + "' failed its checksum");
			}
			return version;
		});
	}

	// ------------------------------------------------------------------ writes

	@Override
	public VersionHeader write(String name, VersionHeader previous, long revision, ChecksummedBody body,
			Instant updatedAt, VersionHeader.Audit audit, Runnable beforePublish) {
		VersionHeader header = new VersionHeader(VersionFormat.FORMAT, StateName.require(name), revision,
				body.bytes().length, body.sha256(), updatedAt, false)
			.withAudit(audit);
		return commit(header, body.bytes(), previous, beforePublish);
	}

	@Override
	public VersionHeader delete(String name, VersionHeader previous, long revision, Instant deletedAt,
			VersionHeader.Audit audit) {
		byte[] empty = new byte[0];
		VersionHeader header = new VersionHeader(VersionFormat.FORMAT, StateName.require(name), revision, 0,
				sha256(empty), deletedAt, true)
			.withAudit(audit);
		return commit(header, empty, previous, () -> {
		});
	}

	private VersionHeader commit(VersionHeader header, byte[] body, VersionHeader previous, Runnable beforePublish) {
		String name = header.name();
		return transaction("write revision " + header.revision() + " of '" + name + "'", (connection) -> {
			try (PreparedStatement insert = connection.prepareStatement(
					"INSERT INTO states (name, last_revision) VALUES (?, 0) ON CONFLICT (name) DO NOTHING")) {
				insert.setString(1, name);
				insert.executeUpdate();
			}
			long last;
			Long current;
			try (PreparedStatement select = connection
				.prepareStatement("SELECT last_revision, current_revision FROM states WHERE name = ? FOR UPDATE")) {
				select.setString(1, name);
				try (ResultSet row = select.executeQuery()) {
					row.next();
					last = row.getLong(1);
					long value = row.getLong(2);
					current = row.wasNull() ? null : value;
				}
			}
			Long expected = (previous != null) ? previous.revision() : null;
			if (!java.util.Objects.equals(current, expected) || header.revision() <= last) {
				throw new StorageException(StorageException.Reason.IO_ERROR, "'" + name + "' changed underneath: "
						+ "its current revision is " + current + ", this write expected " + expected);
			}
			try (PreparedStatement insert = connection.prepareStatement("INSERT INTO versions (name, revision, "
					+ "deleted, body, sha256, size, updated_at, audit) VALUES (?, ?, ?, ?, ?, ?, ?, ?::jsonb)")) {
				insert.setString(1, name);
				insert.setLong(2, header.revision());
				insert.setBoolean(3, header.deleted());
				insert.setBytes(4, body);
				insert.setString(5, header.sha256());
				insert.setLong(6, body.length);
				insert.setTimestamp(7, Timestamp.from(header.updatedAt()));
				insert.setString(8, (header.audit() != null) ? MAPPER.writeValueAsString(header.audit()) : null);
				insert.executeUpdate();
			}
			try (PreparedStatement update = connection
				.prepareStatement("UPDATE states SET last_revision = ?, current_revision = ? WHERE name = ?")) {
				update.setLong(1, header.revision());
				update.setLong(2, header.revision());
				update.setString(3, name);
				update.executeUpdate();
			}
			prune(connection, name, header.revision());
			// the caller's last word, before anything is published: a throw rolls back
			beforePublish.run();
			return header;
		});
	}

	/**
	 * Keeps the newest {@code backups-kept} earlier versions, and what retention holds.
	 */
	private void prune(Connection connection, String name, long current) throws SQLException {
		long firstRetained = this.retention.firstRetained(name);
		try (PreparedStatement delete = connection.prepareStatement("DELETE FROM versions WHERE name = ? "
				+ "AND revision < ? AND revision < ? AND revision NOT IN (SELECT revision FROM versions WHERE "
				+ "name = ? AND revision < ? ORDER BY revision DESC LIMIT ?)")) {
			delete.setString(1, name);
			delete.setLong(2, current);
			delete.setLong(3, firstRetained);
			delete.setString(4, name);
			delete.setLong(5, current);
			delete.setInt(6, this.versionsKept);
			delete.executeUpdate();
		}
	}

	private static Long currentRevision(Connection connection, String name) throws SQLException {
		try (PreparedStatement select = connection
			.prepareStatement("SELECT current_revision FROM states WHERE name = ?")) {
			select.setString(1, name);
			try (ResultSet row = select.executeQuery()) {
				if (!row.next()) {
					return null;
				}
				long value = row.getLong(1);
				return row.wasNull() ? null : value;
			}
		}
	}

	// ------------------------------------------------------------------ locks

	@Override
	public Map<String, StoredLock> loadLocks() {
		return transaction("load the locks", (connection) -> {
			Map<String, StoredLock> locks = new TreeMap<>();
			try (PreparedStatement select = connection
				.prepareStatement("SELECT name, id, info, sha256, acquired_at, expires_at FROM locks");
					ResultSet rows = select.executeQuery()) {
				while (rows.next()) {
					String name = rows.getString(1);
					byte[] info = rows.getBytes(3);
					if (!sha256(info).equals(rows.getString(4))) {
						logger.warn("The lock of '{}' failed verification; it is held by '{}'", name,
								StoredLock.DAMAGED_ID);
						locks.put(name, StoredLock.damaged(name, Instant.now()));
						continue;
					}
					locks.put(name, new StoredLock(name, rows.getString(2), info, rows.getTimestamp(5).toInstant(),
							rows.getTimestamp(6).toInstant()));
				}
			}
			return locks;
		});
	}

	@Override
	public void writeLock(StoredLock lock) {
		transaction("write the lock of '" + lock.name() + "'", (connection) -> {
			try (PreparedStatement upsert = connection.prepareStatement("INSERT INTO locks (name, id, info, sha256, "
					+ "acquired_at, expires_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
					+ "id = EXCLUDED.id, info = EXCLUDED.info, sha256 = EXCLUDED.sha256, "
					+ "acquired_at = EXCLUDED.acquired_at, expires_at = EXCLUDED.expires_at")) {
				upsert.setString(1, StateName.require(lock.name()));
				upsert.setString(2, lock.id());
				upsert.setBytes(3, lock.info());
				upsert.setString(4, sha256(lock.info()));
				upsert.setTimestamp(5, Timestamp.from(lock.acquiredAt()));
				upsert.setTimestamp(6, Timestamp.from(lock.expiresAt()));
				upsert.executeUpdate();
			}
			return null;
		});
	}

	@Override
	public void deleteLock(String name) {
		transaction("remove the lock of '" + name + "'", (connection) -> {
			try (PreparedStatement delete = connection.prepareStatement("DELETE FROM locks WHERE name = ?")) {
				delete.setString(1, name);
				delete.executeUpdate();
			}
			return null;
		});
	}

	// ------------------------------------------------------------------ the rest

	@Override
	public void setRetention(VersionRetention retention) {
		this.retention = retention;
	}

	@Override
	public StorageStatus status() {
		return new StorageStatus(Path.of("postgresql"), -1, 0, true, null, 0, 0);
	}

	private static String sha256(byte[] bytes) {
		return HexFormat.of().formatHex(Sha256.digest().digest(bytes));
	}

}
