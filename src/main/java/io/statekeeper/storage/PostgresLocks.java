package io.statekeeper.storage;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The rows of the {@code locks} table, for {@link PostgresStateRepository}, which takes
 * the state's row lock before it changes one: a lock's id, its LockInfo exactly as sent
 * and their SHA-256 (verified on every read: a damaged row is a lock no client holds,
 * never no lock), its lease.
 */
final class PostgresLocks {

	private static final Logger logger = LoggerFactory.getLogger(PostgresStateRepository.class);

	private PostgresLocks() {
	}

	static Map<String, StoredLock> all(Connection connection, Instant now) throws SQLException {
		Map<String, StoredLock> locks = new TreeMap<>();
		try (PreparedStatement select = connection
			.prepareStatement("SELECT name, id, info, sha256, acquired_at, expires_at FROM locks");
				ResultSet rows = select.executeQuery()) {
			while (rows.next()) {
				locks.put(rows.getString(1), lock(rows, 1, now));
			}
		}
		return locks;
	}

	/**
	 * A lock row (name, id, info, sha256, acquired_at, expires_at from column
	 * {@code first} on), verified: a damaged one is a lock no client holds, never no
	 * lock.
	 */
	static StoredLock lock(ResultSet row, int first, Instant now) throws SQLException {
		String name = row.getString(first);
		byte[] info = row.getBytes(first + 2);
		if (!Sha256.hex(info).equals(row.getString(first + 3))) {
			logger.warn("The lock of '{}' failed verification; it is held by '{}'", name, StoredLock.DAMAGED_ID);
			return StoredLock.damaged(name, now);
		}
		return new StoredLock(name, row.getString(first + 1), info, row.getTimestamp(first + 4).toInstant(),
				row.getTimestamp(first + 5).toInstant());
	}

	static String id(Connection connection, String name) throws SQLException {
		try (PreparedStatement select = connection
			.prepareStatement("SELECT id, info, sha256 FROM locks WHERE name = ?")) {
			select.setString(1, name);
			try (ResultSet row = select.executeQuery()) {
				if (!row.next()) {
					return null;
				}
				return Sha256.hex(row.getBytes(2)).equals(row.getString(3)) ? row.getString(1) : StoredLock.DAMAGED_ID;
			}
		}
	}

	static void put(Connection connection, StoredLock lock) throws SQLException {
		try (PreparedStatement upsert = connection.prepareStatement("INSERT INTO locks (name, id, info, sha256, "
				+ "acquired_at, expires_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
				+ "id = EXCLUDED.id, info = EXCLUDED.info, sha256 = EXCLUDED.sha256, "
				+ "acquired_at = EXCLUDED.acquired_at, expires_at = EXCLUDED.expires_at")) {
			upsert.setString(1, lock.name());
			upsert.setString(2, lock.id());
			upsert.setBytes(3, lock.info());
			upsert.setString(4, Sha256.hex(lock.info()));
			upsert.setTimestamp(5, Timestamp.from(lock.acquiredAt()));
			upsert.setTimestamp(6, Timestamp.from(lock.expiresAt()));
			upsert.executeUpdate();
		}
	}

	static void remove(Connection connection, String name) throws SQLException {
		try (PreparedStatement delete = connection.prepareStatement("DELETE FROM locks WHERE name = ?")) {
			delete.setString(1, name);
			delete.executeUpdate();
		}
	}

}
