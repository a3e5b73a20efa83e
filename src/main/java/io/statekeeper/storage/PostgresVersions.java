package io.statekeeper.storage;

import java.security.GeneralSecurityException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.json.JsonMapper;

/**
 * The rows of the {@code versions} table, as {@link VersionFormat} is for version files:
 * what is stored for a version (its exact bytes, encrypted when a key is active, their
 * SHA-256 and size, the audit fields) and how a read verifies it. A row that fails
 * verification (the stored bytes' checksum or size, decryption, the state's checksum) is
 * never returned: it reads as {@code null}, and the caller reports it as damaged.
 */
final class PostgresVersions {

	private static final Logger logger = LoggerFactory.getLogger(PostgresStateRepository.class);

	private static final JsonMapper MAPPER = JsonMapper.builder().build();

	private final StateCipher cipher;

	PostgresVersions(StateCipher cipher) {
		this.cipher = cipher;
	}

	boolean knows(String key) {
		return this.cipher.knows(key);
	}

	/** The columns a version is inserted with, in {@link #bind}'s order. */
	static final String COLUMNS = "name, revision, deleted, body, sha256, size, updated_at, audit, key, plain_sha256, "
			+ "plain_size";

	/** {@link #COLUMNS}' placeholders, typed (they are selected, not given as VALUES). */
	static final String VALUES = "?::text, ?::bigint, ?::boolean, ?::bytea, ?::text, ?::bigint, ?::timestamptz, "
			+ "?::jsonb, ?::text, ?::text, ?::bigint";

	/** A version as it is stored: its header, and its bytes (encrypted with a key). */
	record Row(VersionHeader header, byte[] stored) {
	}

	Row row(String name, long revision, ChecksummedBody body, Instant at, boolean deleted, VersionHeader.Audit audit) {
		byte[] plain = body.bytes();
		if (this.cipher.active() && !deleted) {
			byte[] stored = this.cipher.encrypt(name, revision, plain);
			return new Row(new VersionHeader(VersionFormat.FORMAT, name, revision, stored.length, Sha256.hex(stored),
					at, false, this.cipher.activeKey(), (long) plain.length, body.sha256(), audit), stored);
		}
		return new Row(new VersionHeader(VersionFormat.FORMAT, name, revision, plain.length, body.sha256(), at, deleted)
			.withAudit(audit), plain);
	}

	/**
	 * Binds a row's {@link #COLUMNS} from parameter {@code first} on.
	 * @return the next parameter's index
	 */
	static int bind(PreparedStatement statement, int first, Row row) throws SQLException {
		VersionHeader header = row.header();
		int at = first;
		statement.setString(at++, header.name());
		statement.setLong(at++, header.revision());
		statement.setBoolean(at++, header.deleted());
		statement.setBytes(at++, row.stored());
		statement.setString(at++, header.sha256());
		statement.setLong(at++, row.stored().length);
		statement.setTimestamp(at++, Timestamp.from(header.updatedAt()));
		statement.setString(at++, (header.audit() != null) ? MAPPER.writeValueAsString(header.audit()) : null);
		statement.setString(at++, header.key());
		statement.setString(at++, header.plainSha256());
		if (header.plainSize() != null) {
			statement.setLong(at++, header.plainSize());
		}
		else {
			statement.setNull(at++, java.sql.Types.BIGINT);
		}
		return at;
	}

	/** A version, verified (and decrypted); {@code null} if it is missing or damaged. */
	StoredVersion read(Connection connection, String name, long revision) throws SQLException {
		try (PreparedStatement select = connection.prepareStatement("SELECT deleted, body, sha256, size, updated_at, "
				+ "audit, key, plain_sha256, plain_size FROM versions WHERE name = ? AND revision = ?")) {
			select.setString(1, name);
			select.setLong(2, revision);
			try (ResultSet row = select.executeQuery()) {
				if (!row.next()) {
					return null;
				}
				byte[] stored = row.getBytes(2);
				String sha256 = row.getString(3);
				if (stored.length != row.getLong(4) || !sha256.equals(Sha256.hex(stored))) {
					return null;
				}
				String key = row.getString(7);
				long plainSize = row.getLong(9);
				VersionHeader header = new VersionHeader(VersionFormat.FORMAT, name, revision, stored.length, sha256,
						row.getTimestamp(5).toInstant(), row.getBoolean(1), key, (key != null) ? plainSize : null,
						row.getString(8), audit(row.getString(6)));
				return (key != null) ? decrypted(header, stored) : new StoredVersion(header, stored);
			}
		}
	}

	private StoredVersion decrypted(VersionHeader header, byte[] stored) {
		try {
			byte[] plain = this.cipher.decrypt(header, stored);
			if (plain.length == header.plainSize() && Sha256.hex(plain).equals(header.plainSha256())) {
				return new StoredVersion(header, plain);
			}
			logger.warn("Revision {} of '{}' decrypted to other bytes than its checksum says", header.revision(),
					header.name());
		}
		catch (GeneralSecurityException ex) {
			logger.warn("Revision {} of '{}' cannot be decrypted: {}", header.revision(), header.name(),
					ex.getMessage());
		}
		return null;
	}

	private static VersionHeader.Audit audit(String json) {
		return (json != null) ? MAPPER.readValue(json, VersionHeader.Audit.class) : null;
	}

	static boolean exists(Connection connection, String name, long revision) throws SQLException {
		try (PreparedStatement select = connection
			.prepareStatement("SELECT 1 FROM versions WHERE name = ? AND revision = ?")) {
			select.setString(1, name);
			select.setLong(2, revision);
			try (ResultSet row = select.executeQuery()) {
				return row.next();
			}
		}
	}

	/** The headers of a state's versions but one (its current one), newest first. */
	static List<VersionHeader> headers(Connection connection, String name, long except) throws SQLException {
		List<VersionHeader> headers = new ArrayList<>();
		try (PreparedStatement select = connection.prepareStatement("SELECT revision, deleted, sha256, size, "
				+ "updated_at, key, plain_sha256, plain_size FROM versions WHERE name = ? AND revision <> ? "
				+ "ORDER BY revision DESC")) {
			select.setString(1, name);
			select.setLong(2, except);
			try (ResultSet rows = select.executeQuery()) {
				while (rows.next()) {
					String key = rows.getString(6);
					headers.add(new VersionHeader(VersionFormat.FORMAT, name, rows.getLong(1), rows.getLong(4),
							rows.getString(3), rows.getTimestamp(5).toInstant(), rows.getBoolean(2), key,
							(key != null) ? rows.getLong(8) : null, rows.getString(7), null));
				}
			}
		}
		return headers;
	}

}
