package io.statekeeper.storage;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.List;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.postgresql.ds.PGSimpleDataSource;

import io.statekeeper.PostgresServer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * The storage contract, honoured by the PostgreSQL engine on a real server (a database of
 * its own for each test); and what only a shared database asks for: a writer that did not
 * see the current revision (another replica's write) is refused, a stopped server is a
 * storage failure that loses nothing acknowledged.
 */
@Tag("reliability")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PostgresStateRepositoryContractIT extends StateRepositoryContract {

	@RegisterExtension
	static final PostgresServer.PerClass postgres = new PostgresServer.PerClass();

	PostgresServer server;

	PGSimpleDataSource dataSource;

	@BeforeEach
	void database() {
		this.server = postgres.server();
		this.dataSource = new PGSimpleDataSource();
		this.dataSource.setUrl(this.server.createDatabase("contract"));
		this.dataSource.setUser("postgres");
		PostgresStorageConfiguration.migrate(this.dataSource);
	}

	@Override
	StateRepository open(int backupsKept) {
		return new PostgresStateRepository(this.dataSource,
				StorageTestSupport.properties(Path.of("target"), backupsKept, StorageProperties.OnCorruption.HOLD));
	}

	@Override
	void close(StateRepository repository) {
		// nothing held between calls: each call takes a connection and returns it
	}

	@Override
	void corrupt(String name, long revision) throws SQLException {
		try (Connection connection = this.dataSource.getConnection();
				PreparedStatement update = connection.prepareStatement(
						"UPDATE versions SET body = overlay(body placing '!'::bytea from 3 for 1) WHERE name = ? AND revision = ?")) {
			update.setString(1, name);
			update.setLong(2, revision);
			assertThat(update.executeUpdate()).isOne();
		}
	}

	@Test
	void aWriterThatDidNotSeeTheCurrentRevisionIsRefusedAndChangesNothing() {
		StateRepository replicaA = open(3);
		StateRepository replicaB = open(3);
		VersionHeader one = replicaA.write("r", null, 1, state("one"), Instant.now());
		replicaA.write("r", one, 2, state("a2"), Instant.now());
		// replica B still believes revision 1 is current
		assertThatExceptionOfType(StorageException.class)
			.isThrownBy(() -> replicaB.write("r", one, 2, state("b2"), Instant.now()));
		assertThatExceptionOfType(StorageException.class)
			.isThrownBy(() -> replicaB.write("r", one, 3, state("b3"), Instant.now()));
		assertThat(replicaA.loadAll()).singleElement()
			.satisfies((state) -> assertThat(state.current().body()).isEqualTo(state("a2")));
	}

	@Test
	void aStoppedServerIsAStorageFailureAndNothingAcknowledgedIsLost() {
		StateRepository repository = open(3);
		VersionHeader one = repository.write("s", null, 1, state("one"), Instant.now());
		this.server.crash();
		try {
			assertThatExceptionOfType(StorageException.class)
				.isThrownBy(() -> repository.write("s", one, 2, state("two"), Instant.now()))
				.satisfies((ex) -> assertThat(ex.getReason()).isEqualTo(StorageException.Reason.IO_ERROR));
			assertThatExceptionOfType(StorageException.class).isThrownBy(repository::loadAll);
		}
		finally {
			this.server.start();
		}
		assertThat(repository.loadAll()).singleElement()
			.satisfies((state) -> assertThat(state.current().body()).isEqualTo(state("one")));
		// and it takes writes again, with no restart of the repository
		assertThat(repository.write("s", one, 2, state("two"), Instant.now()).revision()).isEqualTo(2);
	}

	@Test
	void aWriteAdmittedUnderALockThatMovedIsAConflictAndCommitsNothing() {
		StateRepository replicaA = open(3);
		StateRepository replicaB = open(3);
		Instant at = Instant.now();
		byte[] info = "{\"ID\":\"run-1\"}".getBytes(java.nio.charset.StandardCharsets.UTF_8);
		VersionHeader one = replicaA.write("f", null, 1, state("one"), at);
		replicaA.writeLock(new StoredLock("f", "run-1", info, at, at.plusSeconds(60)), null);
		// replica B forces the lock meanwhile; A's write was admitted under run-1
		replicaB.deleteLock("f", "run-1");
		assertThatExceptionOfType(StorageException.class).isThrownBy(() -> replicaA.write("f", one, 2,
				ChecksummedBody.of(state("two")), at, null, LockFence.of("run-1"), () -> {
				}))
			.satisfies((ex) -> assertThat(ex.getReason()).isEqualTo(StorageException.Reason.CONFLICT));
		// a write admitted as unlocked, while another replica took the lock
		replicaB.writeLock(new StoredLock("f", "run-2", info, at, at.plusSeconds(60)), null);
		assertThatExceptionOfType(StorageException.class)
			.isThrownBy(() -> replicaA.delete("f", one, 2, at, null, LockFence.of(null)))
			.satisfies((ex) -> assertThat(ex.getReason()).isEqualTo(StorageException.Reason.CONFLICT));
		SharedState now = replicaB.reload("f", null);
		assertThat(now.state().current().body()).isEqualTo(state("one"));
		assertThat(now.state().lastRevision()).isEqualTo(1);
		assertThat(now.lock().id()).isEqualTo("run-2");
		// the holder's write goes through
		assertThat(
				replicaA.write("f", one, 2, ChecksummedBody.of(state("two")), at, null, LockFence.of("run-2"), () -> {
				}).revision())
			.isEqualTo(2);
	}

	@Test
	void aLockChangeComparesTheLockItReplaces() {
		StateRepository replicaA = open(3);
		StateRepository replicaB = open(3);
		Instant at = Instant.now();
		byte[] info = "{}".getBytes(java.nio.charset.StandardCharsets.UTF_8);
		replicaA.writeLock(new StoredLock("l", "run-a", info, at, at.plusSeconds(60)), null);
		// B saw no lock: its lock is refused, A's stays
		assertThatExceptionOfType(StorageException.class)
			.isThrownBy(() -> replicaB.writeLock(new StoredLock("l", "run-b", info, at, at.plusSeconds(60)), null))
			.satisfies((ex) -> assertThat(ex.getReason()).isEqualTo(StorageException.Reason.CONFLICT));
		// B releasing a lock it no longer sees is refused too
		assertThatExceptionOfType(StorageException.class).isThrownBy(() -> replicaB.deleteLock("l", "run-b"));
		assertThat(replicaB.loadLocks().get("l").id()).isEqualTo("run-a");
		// a takeover names the lock it replaces
		replicaB.writeLock(new StoredLock("l", "run-b", info, at, at.plusSeconds(60)), "run-a");
		assertThat(replicaA.reload("l", null).lock().id()).isEqualTo("run-b");
		// a locked name never stored is no state
		assertThat(replicaA.loadAll()).noneMatch((state) -> state.name().equals("l"));
	}

	@Test
	void aReloadReusesTheVersionItIsGivenWhileCurrentAndReadsTheNewOneOtherwise() {
		StateRepository replicaA = open(3);
		StateRepository replicaB = open(3);
		VersionHeader one = replicaA.write("r", null, 1, state("one"), Instant.now());
		SharedState first = replicaB.reload("r", null);
		StoredVersion known = first.state().current();
		assertThat(known.body()).isEqualTo(state("one"));
		assertThat(replicaB.reload("r", known).state().current()).isSameAs(known);
		replicaA.write("r", one, 2, state("two"), Instant.now());
		assertThat(replicaB.reload("r", known).state().current().body()).isEqualTo(state("two"));
		// the database's clock, for leases
		assertThat(first.now()).isBetween(Instant.now().minusSeconds(60), Instant.now().plusSeconds(60));
		// a name never stored
		SharedState never = replicaB.reload("never", null);
		assertThat(never.state().current()).isNull();
		assertThat(never.state().lastRevision()).isZero();
		assertThat(never.lock()).isNull();
	}

	@Test
	void withAKeyTheDatabaseHoldsCiphertextAndAReadVerifiesTheState() throws Exception {
		Path keyFile = Files.createTempFile("statekeeper-key", ".b64");
		try {
			byte[] key = new byte[32];
			new java.security.SecureRandom().nextBytes(key);
			Files.writeString(keyFile, java.util.Base64.getEncoder().encodeToString(key));
			StateCipher cipher = StateCipher
				.of(new EncryptionProperties(List.of(new EncryptionProperties.Key("k1", keyFile)), "k1"));
			StateRepository repository = new PostgresStateRepository(this.dataSource,
					StorageTestSupport.properties(Path.of("target"), 3, StorageProperties.OnCorruption.HOLD), cipher);
			byte[] secret = state("password=hunter2");
			VersionHeader one = repository.write("e", null, 1, secret, Instant.now());
			repository.write("e", one, 2, state("two"), Instant.now());
			try (Connection connection = this.dataSource.getConnection();
					PreparedStatement select = connection
						.prepareStatement("SELECT body, key FROM versions WHERE name = 'e' AND revision = 1");
					java.sql.ResultSet row = select.executeQuery()) {
				assertThat(row.next()).isTrue();
				assertThat(new String(row.getBytes(1), java.nio.charset.StandardCharsets.ISO_8859_1))
					.doesNotContain("hunter2");
				assertThat(row.getString(2)).isEqualTo("k1");
			}
			assertThat(repository.readVersion("e", 1).body()).isEqualTo(secret);
			assertThat(repository.readVersion("e", 1).header().checksum()).isEqualTo(one.checksum());
			// without the key, the row is never served, and a replica does not start
			StateRepository keyless = open(3);
			assertThatExceptionOfType(StorageException.class).isThrownBy(() -> keyless.readVersion("e", 1))
				.satisfies((ex) -> assertThat(ex.getReason()).isEqualTo(StorageException.Reason.CORRUPT));
			assertThatExceptionOfType(IllegalStateException.class).isThrownBy(keyless::loadAll)
				.withMessageContaining("key 'k1', which is not configured");
			// a damaged ciphertext is damage, never a wrong state
			try (Connection connection = this.dataSource.getConnection();
					Statement statement = connection.createStatement()) {
				statement.executeUpdate("UPDATE versions SET body = overlay(body placing '!'::bytea from 20 for 1), "
						+ "sha256 = encode(sha256(overlay(body placing '!'::bytea from 20 for 1)), 'hex') "
						+ "WHERE name = 'e' AND revision = 1");
			}
			assertThatExceptionOfType(StorageException.class).isThrownBy(() -> repository.readVersion("e", 1))
				.satisfies((ex) -> assertThat(ex.getReason()).isEqualTo(StorageException.Reason.CORRUPT));
		}
		finally {
			Files.deleteIfExists(keyFile);
		}
	}

	@Test
	void aSerializationFailureOrDeadlockIsAConflictAndAnythingElseIsTheStoreUnavailable() {
		assertThat(PostgresStateRepository.failure("x", new SQLException("serialization", "40001")).getReason())
			.isEqualTo(StorageException.Reason.CONFLICT);
		assertThat(PostgresStateRepository.failure("x", new SQLException("deadlock", "40P01")).getReason())
			.isEqualTo(StorageException.Reason.CONFLICT);
		assertThat(PostgresStateRepository.failure("x", new SQLException("refused", "08001")).getReason())
			.isEqualTo(StorageException.Reason.IO_ERROR);
		assertThat(PostgresStateRepository.failure("x", new SQLException("pool timeout")).getReason())
			.isEqualTo(StorageException.Reason.IO_ERROR);
	}

}
