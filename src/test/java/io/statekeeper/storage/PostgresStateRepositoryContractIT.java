package io.statekeeper.storage;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicInteger;

import org.flywaydb.core.Flyway;
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

	private static final AtomicInteger databases = new AtomicInteger();

	@RegisterExtension
	static final PostgresServer.PerClass postgres = new PostgresServer.PerClass();

	PostgresServer server;

	PGSimpleDataSource dataSource;

	@BeforeEach
	void database() throws SQLException {
		this.server = postgres.server();
		String name = "contract_" + databases.incrementAndGet();
		PGSimpleDataSource admin = dataSource("postgres");
		try (Connection connection = admin.getConnection(); Statement statement = connection.createStatement()) {
			statement.executeUpdate("CREATE DATABASE " + name);
		}
		this.dataSource = dataSource(name);
		Flyway.configure().dataSource(this.dataSource).locations("classpath:db/migration/postgresql").load().migrate();
	}

	private PGSimpleDataSource dataSource(String database) {
		PGSimpleDataSource source = new PGSimpleDataSource();
		source.setUrl(this.server.jdbcUrl().replace("/postgres", "/" + database));
		source.setUser("postgres");
		return source;
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

}
