package io.statekeeper.storage;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.postgresql.ds.PGSimpleDataSource;

import io.statekeeper.PostgresServer;
import io.statekeeper.RunningService;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code statekeeper copy}: a file store with history, a tombstone, a lock and damaged
 * files into an empty PostgreSQL database and back into an empty data directory, every
 * version verified on both sides, damage left out and reported, and a second run
 * harmless.
 */
@Tag("reliability")
class StoreCopyIT {

	@RegisterExtension
	static final PostgresServer.PerClass postgres = new PostgresServer.PerClass();

	@TempDir
	Path dir;

	private String url;

	private PGSimpleDataSource dataSource;

	@BeforeEach
	void database() {
		this.url = postgres.server().createDatabase("copy");
		this.dataSource = new PGSimpleDataSource();
		this.dataSource.setUrl(this.url);
		this.dataSource.setUser("postgres");
	}

	private static byte[] state(String marker) {
		return StateRepositoryContract.state(marker);
	}

	private record Run(int status, String output) {
	}

	private Run copy(String from, String to) {
		ByteArrayOutputStream out = new ByteArrayOutputStream();
		int status = StoreCopyCommand.run(new String[] { from, to, "--spring.datasource.username=postgres" },
				new PrintStream(out, true, StandardCharsets.UTF_8));
		return new Run(status, out.toString(StandardCharsets.UTF_8));
	}

	private static FileStateRepository files(Path dataDir) {
		return StorageTestSupport.open(StorageTestSupport.properties(dataDir, 10, StorageProperties.OnCorruption.HOLD),
				new StorageIo(), new SimpleMeterRegistry());
	}

	/**
	 * prod: revisions 1-3; gone: written, deleted (a tombstone), written again; held: its
	 * current version damaged; prod's revision 1 damaged; a lock on prod.
	 */
	private Path fileStoreWithHistoryAndDamage() throws Exception {
		Path dataDir = this.dir.resolve("data");
		FileStateRepository store = files(dataDir);
		try {
			VersionHeader previous = null;
			for (int revision = 1; revision <= 3; revision++) {
				previous = store.write("prod", previous, revision, state("prod-" + revision), Instant.now(),
						new VersionHeader.Audit("put", "ci", "10.0.0." + revision, 7L, "anchor"));
			}
			VersionHeader one = store.write("gone", null, 1, state("gone-1"), Instant.now());
			VersionHeader tombstone = store.delete("gone", one, 2, Instant.now());
			store.write("gone", tombstone, 3, state("gone-3"), Instant.now());
			VersionHeader held = store.write("held", null, 1, state("held-1"), Instant.now());
			store.write("held", held, 2, state("held-2"), Instant.now());
			store.writeLock(new StoredLock("prod", "run-1", "{\"ID\":\"run-1\"}".getBytes(StandardCharsets.UTF_8),
					Instant.parse("2026-12-07T10:00:00Z"), Instant.parse("2026-12-07T12:00:00Z")));
			assertThat(store.awaitPruned(java.time.Duration.ofSeconds(10))).isTrue();
		}
		finally {
			store.close();
		}
		flipAByte(StorageTestSupport.stateDir(dataDir, "held").resolve("current.json"));
		flipAByte(StorageTestSupport.stateDir(dataDir, "prod").resolve("versions").resolve("1.json"));
		return dataDir;
	}

	private static void flipAByte(Path file) throws Exception {
		byte[] bytes = Files.readAllBytes(file);
		bytes[bytes.length - 3] ^= 1;
		Files.write(file, bytes);
	}

	private static Map<String, LoadedState> byName(List<LoadedState> states) {
		return states.stream().collect(Collectors.toMap(LoadedState::name, Function.identity()));
	}

	@Test
	void aFileStoreGoesIntoPostgresqlAndBackWithEveryVersionVerifiedAndDamageLeftOut() throws Exception {
		Path source = fileStoreWithHistoryAndDamage();
		Run there = copy(source.toString(), this.url);
		assertThat(there.status()).as(there.output()).isZero();
		// the file store sets damaged files aside as it opens (the kept revision 1 of
		// prod, the current version of held): reported, never copied
		assertThat(there.output()).contains("copied 2 states (4 versions), 1 locks")
			.contains("4 versions verified")
			.contains("left out: held: its current version is damaged")
			.contains("damaged files were moved to its quarantine directory: 2");

		PostgresStateRepository database = new PostgresStateRepository(this.dataSource,
				StorageTestSupport.properties(this.dir, 10, StorageProperties.OnCorruption.HOLD));
		Map<String, LoadedState> states = byName(database.loadAll());
		assertThat(states).containsOnlyKeys("prod", "gone");
		assertThat(states.get("prod").current().body()).isEqualTo(state("prod-3"));
		assertThat(states.get("prod").current().header().revision()).isEqualTo(3);
		// who wrote it is copied; the anchor into the old audit log is not
		assertThat(states.get("prod").current().header().audit().remote()).isEqualTo("10.0.0.3");
		assertThat(states.get("prod").current().header().audit().logHead()).isNull();
		assertThat(database.versions("prod")).extracting(VersionHeader::revision).containsExactly(2L);
		assertThat(database.readVersion("prod", 2).body()).isEqualTo(state("prod-2"));
		// revisions as they were, gaps included (the tombstone, 2, kept nothing)
		assertThat(database.versions("gone")).extracting(VersionHeader::revision).containsExactly(1L);
		assertThat(states.get("gone").lastRevision()).isEqualTo(3);
		assertThat(database.loadLocks()).containsOnlyKeys("prod");
		assertThat(database.loadLocks().get("prod").id()).isEqualTo("run-1");

		// harmless twice: nothing written again
		Run again = copy(source.toString(), this.url);
		assertThat(again.status()).as(again.output()).isZero();
		assertThat(again.output()).contains("copied 0 states (0 versions), 0 locks; 2 states already there");
		assertThat(database.versions("prod")).extracting(VersionHeader::revision).containsExactly(2L);

		// and back, into an empty data directory, with a row damaged in the database
		try (Connection connection = this.dataSource.getConnection();
				Statement statement = connection.createStatement()) {
			assertThat(statement.executeUpdate("UPDATE versions SET body = overlay(body placing '!'::bytea from 3 "
					+ "for 1) WHERE name = 'gone' AND revision = 1"))
				.isOne();
		}
		Path back = this.dir.resolve("back");
		Run home = copy(this.url, back.toString());
		assertThat(home.status()).as(home.output()).isZero();
		assertThat(home.output()).contains("copied 2 states (3 versions), 1 locks")
			.contains("3 versions verified")
			.contains("left out: gone: kept revision 1 is damaged");
		FileStateRepository files = files(back);
		try {
			Map<String, LoadedState> copied = byName(files.loadAll());
			assertThat(copied.get("prod").current().body()).isEqualTo(state("prod-3"));
			assertThat(copied.get("gone").current().body()).isEqualTo(state("gone-3"));
			assertThat(copied.get("gone").current().header().checksum())
				.isEqualTo(states.get("gone").current().header().checksum());
			assertThat(files.readVersion("prod", 2).body()).isEqualTo(state("prod-2"));
			assertThat(files.readVersion("gone", 1)).isNull();
			assertThat(files.loadLocks().get("prod").id()).isEqualTo("run-1");
		}
		finally {
			files.close();
		}
	}

	@Test
	void aTargetThatHasAStateOtherwiseIsLeftAsItIsAndTheCopyFails() throws Exception {
		Path source = fileStoreWithHistoryAndDamage();
		PostgresStateRepository database = new PostgresStateRepository(this.dataSource,
				StorageTestSupport.properties(this.dir, 10, StorageProperties.OnCorruption.HOLD));
		PostgresStorageConfiguration.migrate(this.dataSource);
		database.write("prod", null, 1, state("someone else's"), Instant.now());
		Run run = copy(source.toString(), this.url);
		assertThat(run.status()).as(run.output()).isEqualTo(1);
		assertThat(run.output()).contains("DIFFERENT: prod: the target already has it, at revision 1");
		LoadedState prod = byName(database.loadAll()).get("prod");
		assertThat(prod.current().body()).isEqualTo(state("someone else's"));
		assertThat(database.versions("prod")).isEmpty();
	}

	@Test
	void aUsageErrorNamesBothSides() {
		Run run = copy(this.url, this.url);
		assertThat(run.status()).isEqualTo(2);
		assertThat(run.output()).contains("usage: statekeeper copy <from> <to>");
	}

	@Test
	void theAuditTrailGoesAlongIntoAnEmptyChainOnce() throws Exception {
		Path source = this.dir.resolve("service-data");
		try (RunningService service = RunningService.start(source)) {
			assertThat(service.put("/api/v1/states/prod", state("one")).statusCode()).isEqualTo(201);
			assertThat(service.put("/api/v1/states/prod", state("two"), "If-Match", "\"7\"").statusCode())
				.isEqualTo(412);
			assertThat(service.put("/api/v1/states/prod", state("two")).statusCode()).isEqualTo(200);
		}
		Run there = copy(source.toString(), this.url);
		assertThat(there.status()).as(there.output()).isZero();
		assertThat(there.output()).contains("audit: copied 3 entries into a new chain");
		try (RunningService replica = RunningService.start(this.dir.resolve("replica"),
				"statekeeper.storage.type=postgresql", "spring.datasource.url=" + this.url,
				"spring.datasource.username=postgres")) {
			String audit = RunningService.text(replica.get("/api/v1/audit"));
			assertThat(audit).contains("\"seq\":3").contains("\"reason\":\"precondition-failed\"");
			assertThat(replica.managementGet("/actuator/health")).contains("\"chainIntact\":true");
		}
		assertThat(copy(source.toString(), this.url).output())
			.contains("audit: the target's chain already has 3 entries; left as it is");
		Path back = this.dir.resolve("back");
		Run home = copy(this.url, back.toString());
		assertThat(home.output()).contains("audit: copied 3 entries into a new chain");
		assertThat(Files.readString(back.resolve("audit").resolve("audit.log"))).contains("precondition-failed");
	}

}
