package io.statekeeper.storage;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.FlywayException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.RegisterExtension;

import io.statekeeper.PostgresServer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * The PostgreSQL engine's schema (#18, its first part) on a real PostgreSQL server: the
 * Flyway migrations apply to an empty database and are harmless to apply again; a schema
 * newer than the migrations a release knows is refused with a clear message; two writers
 * can never both commit one revision of a state; and a transaction is durable exactly
 * when its COMMIT returned, through a crash of the server.
 */
@Tag("reliability")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PostgresSchemaIT {

	@RegisterExtension
	static final PostgresServer.PerClass postgres = new PostgresServer.PerClass();

	PostgresServer server;

	@BeforeEach
	void server() {
		this.server = postgres.server();
	}

	private Flyway flyway(String... locations) {
		return Flyway.configure()
			.dataSource(this.server.jdbcUrl(), "postgres", null)
			.locations(locations)
			// a migration applied by a newer release fails validation: never ignored
			.ignoreMigrationPatterns("")
			.load();
	}

	private Connection connect() throws SQLException {
		return DriverManager.getConnection(this.server.jdbcUrl(), "postgres", null);
	}

	@Test
	void theMigrationsApplyOnceAndValidateAfterwards() throws SQLException {
		Flyway flyway = flyway("classpath:db/migration/postgresql");
		flyway.migrate();
		assertThat(flyway.migrate().migrationsExecuted).isZero();
		flyway.validate();
		List<String> tables = new ArrayList<>();
		try (Connection connection = connect();
				Statement statement = connection.createStatement();
				ResultSet rows = statement
					.executeQuery("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")) {
			while (rows.next()) {
				tables.add(rows.getString(1));
			}
		}
		assertThat(tables).contains("states", "versions", "locks");

		// a newer release's migration in the history: this release refuses, naming it
		try (Connection connection = connect(); Statement statement = connection.createStatement()) {
			statement.executeUpdate("INSERT INTO flyway_schema_history (installed_rank, version, description, type, "
					+ "script, checksum, installed_by, execution_time, success) VALUES "
					+ "(99, '99', 'from a newer release', 'SQL', 'V99__later.sql', 0, 'postgres', 0, true)");
		}
		assertThatExceptionOfType(FlywayException.class).isThrownBy(flyway::validate)
			.withMessageContaining("99")
			.withMessageContaining("not resolved locally");
		// and the service's own start-up migration (PostgresStorageConfiguration) refuses
		// it
		org.postgresql.ds.PGSimpleDataSource dataSource = new org.postgresql.ds.PGSimpleDataSource();
		dataSource.setUrl(this.server.jdbcUrl());
		dataSource.setUser("postgres");
		assertThatExceptionOfType(FlywayException.class)
			.isThrownBy(() -> PostgresStorageConfiguration.migrate(dataSource))
			.withMessageContaining("99")
			.withMessageContaining("not resolved locally");
		try (Connection connection = connect(); Statement statement = connection.createStatement()) {
			statement.executeUpdate("DELETE FROM flyway_schema_history WHERE version = '99'");
		}
	}

	@Test
	void twoWritersCanNeverBothCommitOneRevisionAndACommitSurvivesACrash() throws SQLException {
		flyway("classpath:db/migration/postgresql").migrate();
		try (Connection connection = connect(); Statement statement = connection.createStatement()) {
			statement.executeUpdate("INSERT INTO states (name, last_revision) VALUES ('crash', 1)");
			insertVersion(connection, "crash", 1);
			assertThatExceptionOfType(SQLException.class).isThrownBy(() -> insertVersion(connection, "crash", 1))
				.satisfies((ex) -> assertThat(ex.getSQLState()).isEqualTo("23505"));
			assertThatExceptionOfType(SQLException.class)
				.isThrownBy(
						() -> statement.executeUpdate("INSERT INTO states (name, last_revision) VALUES ('../x', 1)"))
				.satisfies((ex) -> assertThat(ex.getSQLState()).isEqualTo("23514"));
		}
		// one transaction committed, one left open: the power goes
		Connection open = connect();
		open.setAutoCommit(false);
		insertVersion(open, "crash", 2);
		this.server.crash();
		this.server.start();
		try (Connection connection = connect();
				Statement statement = connection.createStatement();
				ResultSet rows = statement.executeQuery("SELECT revision FROM versions WHERE name = 'crash'")) {
			List<Long> revisions = new ArrayList<>();
			while (rows.next()) {
				revisions.add(rows.getLong(1));
			}
			assertThat(revisions).containsExactly(1L);
		}
		try {
			open.close();
		}
		catch (SQLException gone) {
			// its server went away
		}
	}

	private static void insertVersion(Connection connection, String name, long revision) throws SQLException {
		try (PreparedStatement insert = connection.prepareStatement("INSERT INTO versions (name, revision, deleted, "
				+ "body, sha256, size, updated_at) VALUES (?, ?, false, ?, ?, 2, now())")) {
			insert.setString(1, name);
			insert.setLong(2, revision);
			insert.setBytes(3, "{}".getBytes());
			insert.setString(4, "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
			insert.executeUpdate();
		}
	}

}
