package io.statekeeper.storage;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.function.Supplier;
import java.util.stream.Stream;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import io.statekeeper.RunningService;
import io.statekeeper.SampleStates;
import io.statekeeper.storage.FaultyStorageIo.Op;
import io.statekeeper.storage.LoadedState.Condition;
import io.statekeeper.storage.StorageException.Reason;

import static io.statekeeper.storage.StorageTestSupport.body;
import static io.statekeeper.storage.StorageTestSupport.counter;
import static io.statekeeper.storage.StorageTestSupport.current;
import static io.statekeeper.storage.StorageTestSupport.open;
import static io.statekeeper.storage.StorageTestSupport.properties;
import static io.statekeeper.storage.StorageTestSupport.quarantined;
import static io.statekeeper.storage.StorageTestSupport.state;
import static io.statekeeper.storage.StorageTestSupport.stateDir;
import static io.statekeeper.storage.StorageTestSupport.tempFiles;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.assertj.core.api.Assertions.assertThatIllegalStateException;
import static org.awaitility.Awaitility.await;

class FileStateRepositoryTests {

	@TempDir
	Path dataDir;

	private final FaultyStorageIo io = new FaultyStorageIo();

	private SimpleMeterRegistry registry = new SimpleMeterRegistry();

	private FileStateRepository repository;

	@AfterEach
	void close() {
		if (this.repository != null) {
			this.repository.close();
		}
	}

	private FileStateRepository start() {
		return start(properties(this.dataDir));
	}

	private FileStateRepository start(StorageProperties properties) {
		if (this.repository != null) {
			this.repository.close();
		}
		this.registry = new SimpleMeterRegistry();
		this.repository = open(properties, this.io, this.registry);
		return this.repository;
	}

	private List<LoadedState> restart() {
		return restart(properties(this.dataDir));
	}

	private List<LoadedState> restart(StorageProperties properties) {
		return start(properties).loadAll();
	}

	private VersionHeader write(String name, VersionHeader previous, long revision, byte[] body) {
		return this.repository.write(name, previous, revision, body, Instant.now());
	}

	@Test
	void roundTripKeepsTheExactBytes() throws IOException {
		start().loadAll();
		byte[] odd = ("  {\n\t\"version\" : 1 , \"resources\":[ 2.50, 3e2, -0.0, 1E-7 ],\r\n"
				+ "\"metadata\":{\"name\":\"zürich ☃ \\u00e9 😀\",\"x\":\"\\\"\"} }\n\n")
			.getBytes(StandardCharsets.UTF_8);
		VersionHeader header = write("prod", null, 1, odd);

		assertThat(body(current(this.dataDir, "prod"))).isEqualTo(odd);
		List<LoadedState> loaded = restart();
		assertThat(loaded).singleElement().satisfies((state) -> {
			assertThat(state.condition()).isEqualTo(Condition.OK);
			assertThat(state.current().body()).isEqualTo(odd);
			assertThat(state.current().header()).isEqualTo(header);
			assertThat(state.current().header().sha256()).isEqualTo(Sha256.hex(odd));
		});
	}

	@Test
	void aStateOf32MiBRoundTrips() {
		start().loadAll();
		byte[] big = new byte[32 * 1024 * 1024];
		new Random(42).nextBytes(big);
		write("big", null, 1, big);

		LoadedState loaded = restart().get(0);
		assertThat(loaded.current().body()).isEqualTo(big);
		assertThat(loaded.current().header().size()).isEqualTo(big.length);
	}

	@Test
	void aLargeBodyLeavesNoDirectBufferOfItsSizeWithTheWritingThread() throws Exception {
		start().loadAll();
		byte[] big = SampleStates.of(16 * 1024 * 1024, 1);
		java.lang.management.BufferPoolMXBean direct = java.lang.management.ManagementFactory
			.getPlatformMXBeans(java.lang.management.BufferPoolMXBean.class)
			.stream()
			.filter((pool) -> pool.getName().equals("direct"))
			.findFirst()
			.orElseThrow();
		long[] grown = new long[1];
		// the JDK keeps its temporary direct buffers per thread until the thread ends
		Thread writer = new Thread(() -> {
			long before = direct.getMemoryUsed();
			write("big", null, 1, big);
			grown[0] = direct.getMemoryUsed() - before;
		});
		writer.start();
		writer.join();

		assertThat(body(current(this.dataDir, "big"))).isEqualTo(big);
		assertThat(grown[0]).isLessThan(4L * 1024 * 1024);
	}

	@Test
	void filesAre0600AndDirectories0700() throws IOException {
		start().loadAll();
		VersionHeader first = write("prod", null, 1, state("a"));
		write("prod", first, 2, state("b"));

		for (Path file : List.of(current(this.dataDir, "prod"),
				stateDir(this.dataDir, "prod").resolve("versions/1.json"), this.dataDir.resolve("statekeeper.lock"))) {
			assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).as(file.toString())
				.isEqualTo("rw-------");
		}
		for (Path dir : List.of(this.dataDir, this.dataDir.resolve("states"), stateDir(this.dataDir, "prod"),
				stateDir(this.dataDir, "prod").resolve("versions"), this.dataDir.resolve("quarantine"))) {
			assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir))).as(dir.toString())
				.isEqualTo("rwx------");
		}
	}

	@Test
	void aWriteFollowsTheDurableRecipeInOrder() {
		start().loadAll();
		VersionHeader first = write("prod", null, 1, state("a"));
		this.io.clearTrace();

		write("prod", first, 2, state("b"));

		List<String> trace = this.io.trace();
		String temp = trace.stream()
			.filter((op) -> op.startsWith("CREATE .tmp-2-"))
			.findFirst()
			.orElseThrow()
			.substring("CREATE ".length());
		assertThat(trace).containsSubsequence("FREE_SPACE states", "CREATE " + temp, "WRITE " + temp, "FORCE " + temp,
				"CLOSE " + temp, "OPEN_READ " + temp, "CLOSE " + temp, "LINK 1.json", "MOVE current.json");
		// then both directories are fsynced (at once, so in either order): the last thing
		// that touches the new version and the kept one
		assertThat(trace.indexOf("FSYNC_DIR prod")).isGreaterThan(trace.indexOf("MOVE current.json"));
		assertThat(trace.indexOf("FSYNC_DIR versions")).isGreaterThan(trace.indexOf("MOVE current.json"));
		assertThat(trace.indexOf("FORCE " + temp)).isLessThan(trace.indexOf("MOVE current.json"));
		assertThat(Files.isRegularFile(stateDir(this.dataDir, "prod").resolve("versions/1.json"))).isTrue();
	}

	@Test
	void aNewStateAlsoFsyncsTheStatesDirectory() {
		start().loadAll();
		this.io.clearTrace();
		write("fresh", null, 1, state("a"));
		assertThat(this.io.trace()).containsSubsequence("MOVE current.json", "FSYNC_DIR fresh", "FSYNC_DIR states");
	}

	static Stream<Arguments> writeSteps() {
		Supplier<Exception> noSpace = FaultyStorageIo::noSpace;
		Supplier<Exception> eio = FaultyStorageIo::ioError;
		return Stream.of(Op.CREATE, Op.WRITE, Op.FORCE, Op.CLOSE, Op.OPEN_READ, Op.READ, Op.LINK, Op.MOVE)
			.flatMap((op) -> Stream.of(Arguments.of(op, noSpace, Reason.NO_SPACE),
					Arguments.of(op, eio, Reason.IO_ERROR),
					Arguments.of(op, (Supplier<Exception>) FaultyStorageIo::readOnly, Reason.READ_ONLY),
					Arguments.of(op, (Supplier<Exception>) FaultyStorageIo::accessDenied, Reason.ACCESS_DENIED)));
	}

	@ParameterizedTest(name = "{0} fails with {2}")
	@MethodSource("writeSteps")
	void aFaultInAnyStepBeforeTheRenameLeavesTheCommittedStateAndNoTempFile(Op op, Supplier<Exception> fault,
			Reason reason) throws IOException {
		start().loadAll();
		VersionHeader first = write("prod", null, 1, state("a"));
		byte[] before = Files.readAllBytes(current(this.dataDir, "prod"));
		this.io.fail(op, (op == Op.LINK) ? "1.json" : (op == Op.MOVE) ? "current.json" : ".tmp-", fault, 1);

		assertThatExceptionOfType(StorageException.class).isThrownBy(() -> write("prod", first, 2, state("b")))
			.satisfies((ex) -> assertThat(ex.getReason()).isEqualTo(reason));

		assertThat(Files.readAllBytes(current(this.dataDir, "prod"))).isEqualTo(before);
		assertThat(tempFiles(this.dataDir)).isEmpty();
		assertThat(this.repository.status().readOnlyReason()).isNull();
		// the store stays writable
		VersionHeader second = write("prod", first, 3, state("c"));
		assertThat(body(current(this.dataDir, "prod"))).isEqualTo(state("c"));
		assertThat(restart().get(0).current().header()).isEqualTo(second);
	}

	@ParameterizedTest
	@ValueSource(strings = { "header", "first body byte", "second read", "last byte" })
	void oneByteReadBackWrongAnywhereInALargeFileFailsTheWrite(String where) throws IOException {
		start().loadAll();
		VersionHeader first = write("prod", null, 1, state("a"));
		byte[] before = Files.readAllBytes(current(this.dataDir, "prod"));
		byte[] large = SampleStates.of(600 * 1024, 2);
		Instant at = Instant.parse("2026-11-27T02:30:00.123456Z");
		long headerLength = VersionFormat.encodeHeader(
				new VersionHeader(VersionFormat.FORMAT, "prod", 2, large.length, Sha256.hex(large), at, false)).length;
		long offset = switch (where) {
			case "header" -> 5;
			case "first body byte" -> headerLength;
			case "second read" -> 256 * 1024 + 17;
			default -> headerLength + large.length - 1;
		};
		this.io.flipReadAt(offset);

		assertThatExceptionOfType(StorageException.class)
			.isThrownBy(() -> this.repository.write("prod", first, 2, large, at))
			.satisfies((ex) -> assertThat(ex.getReason()).isEqualTo(Reason.VERIFY_FAILED));

		this.io.flipReadAt(-1);
		assertThat(Files.readAllBytes(current(this.dataDir, "prod"))).isEqualTo(before);
		assertThat(tempFiles(this.dataDir)).isEmpty();
		assertThat(restart().get(0).current().header()).isEqualTo(first);
	}

	@Test
	void aReadBackThatDiffersFromWhatWasWrittenFailsTheWriteAndKeepsTheCommittedState() throws IOException {
		start().loadAll();
		VersionHeader first = write("prod", null, 1, state("a"));
		byte[] before = Files.readAllBytes(current(this.dataDir, "prod"));
		this.io.flipReads(true);

		assertThatExceptionOfType(StorageException.class).isThrownBy(() -> write("prod", first, 2, state("b")))
			.satisfies((ex) -> assertThat(ex.getReason()).isEqualTo(Reason.VERIFY_FAILED));

		this.io.flipReads(false);
		assertThat(Files.readAllBytes(current(this.dataDir, "prod"))).isEqualTo(before);
		assertThat(tempFiles(this.dataDir)).isEmpty();
		assertThat(this.repository.status().readOnlyReason()).isNull();
	}

	@Test
	void shortWritesAreLoopedUntilComplete() {
		start().loadAll();
		this.io.shortWrites(7);
		byte[] body = state("a-longer-body-than-seven-bytes");
		write("prod", null, 1, body);
		assertThat(body(current(this.dataDir, "prod"))).isEqualTo(body);
	}

	@Test
	void tooLittleFreeSpaceRefusesTheWriteBeforeTouchingTheDisk() {
		start().loadAll();
		this.io.reportFreeSpace(100);
		this.io.clearTrace();

		assertThatExceptionOfType(StorageException.class).isThrownBy(() -> write("prod", null, 1, state("a")))
			.satisfies((ex) -> assertThat(ex.getReason()).isEqualTo(Reason.NO_SPACE));

		assertThat(this.io.trace()).containsExactly("FREE_SPACE states");
		assertThat(stateDir(this.dataDir, "prod")).doesNotExist();
		this.io.reportFreeSpace(-1);
		write("prod", null, 1, state("a"));
		assertThat(current(this.dataDir, "prod")).exists();
	}

	@Test
	void aFailedFirstWriteLeavesNoStateDirectory() {
		start().loadAll();
		this.io.fail(Op.FORCE, ".tmp-", FaultyStorageIo::ioError, 1);
		assertThatExceptionOfType(StorageException.class).isThrownBy(() -> write("prod", null, 1, state("a")));
		assertThat(stateDir(this.dataDir, "prod")).doesNotExist();
	}

	@Test
	void aFailedDirectoryFsyncIsNotAcknowledgedAndMakesTheStoreReadOnlyUntilRestart() throws IOException {
		start().loadAll();
		VersionHeader first = write("prod", null, 1, state("a"));
		this.io.fail(Op.FSYNC_DIR, "prod", FaultyStorageIo::ioError, 1);

		assertThatExceptionOfType(StorageException.class).isThrownBy(() -> write("prod", first, 2, state("b")))
			.satisfies((ex) -> assertThat(ex.getReason()).isEqualTo(Reason.DURABILITY_UNKNOWN));
		assertThat(this.repository.status().readOnlyReason()).contains("fsync");
		// no retry of the fsync as if it had worked: every later write is refused
		assertThatExceptionOfType(StorageException.class).isThrownBy(() -> write("other", null, 1, state("c")))
			.satisfies((ex) -> assertThat(ex.getReason()).isEqualTo(Reason.STORE_DEGRADED));
		assertThat(stateDir(this.dataDir, "other")).doesNotExist();

		// a restart re-verifies the store: the state is the acknowledged one or the one
		// in flight
		LoadedState loaded = restart().get(0);
		assertThat(loaded.condition()).isEqualTo(Condition.OK);
		assertThat(loaded.current().header().revision()).isIn(1L, 2L);
		assertThat(this.repository.status().readOnlyReason()).isNull();
	}

	@Test
	void linksFallBackToACopyWhereUnsupported() {
		start().loadAll();
		VersionHeader first = write("prod", null, 1, state("a"));
		this.io.fail(Op.LINK, null, UnsupportedOperationException::new, Integer.MAX_VALUE);

		write("prod", first, 2, state("b"));

		assertThat(body(stateDir(this.dataDir, "prod").resolve("versions/1.json"))).isEqualTo(state("a"));
		assertThat(this.repository.readVersion("prod", 1).body()).isEqualTo(state("a"));
		assertThat(tempFiles(this.dataDir)).isEmpty();
	}

	@Test
	void pruningKeepsExactlyTheNewestN() throws IOException {
		start(properties(this.dataDir, 3, StorageProperties.OnCorruption.HOLD)).loadAll();
		VersionHeader previous = null;
		for (int revision = 1; revision <= 10; revision++) {
			previous = write("prod", previous, revision, state("r" + revision));
		}
		assertThat(this.repository.awaitPruned(Duration.ofSeconds(10))).isTrue();
		assertThat(keptFiles("prod")).containsExactlyInAnyOrder("9.json", "8.json", "7.json");
		assertThat(this.repository.versions("prod")).extracting(VersionHeader::revision).containsExactly(9L, 8L, 7L);
		assertThat(counter(this.registry, "statekeeper.state.backups.pruned")).isEqualTo(6);
		assertThat(this.registry.get("statekeeper.state.backups").gauge().value()).isEqualTo(3);
		assertThat(body(current(this.dataDir, "prod"))).isEqualTo(state("r10"));
	}

	@Test
	void aDeleteIsATombstoneThatKeepsTheHistoryAndTheRevisionCounter() {
		start().loadAll();
		VersionHeader first = write("prod", null, 1, state("a"));
		VersionHeader tombstone = this.repository.delete("prod", first, 2, Instant.now());

		LoadedState loaded = restart().get(0);
		assertThat(loaded.current().header().deleted()).isTrue();
		assertThat(loaded.current().header()).isEqualTo(tombstone);
		assertThat(loaded.lastRevision()).isEqualTo(2);
		assertThat(this.repository.readVersion("prod", 1).body()).isEqualTo(state("a"));
	}

	/**
	 * Commits revisions 1 ("a") and 2 ("b") of 'prod', then damages 2; returns its intact
	 * bytes.
	 */
	private byte[] commitTwoRevisionsAndDamageTheCurrent(Damage damage) throws IOException {
		start().loadAll();
		VersionHeader first = write("prod", null, 1, state("a"));
		write("prod", first, 2, state("b"));
		Path current = current(this.dataDir, "prod");
		byte[] original = Files.readAllBytes(current);
		Files.write(current, damage.apply(original.clone()));
		return original;
	}

	@ParameterizedTest
	@EnumSource(Damage.class)
	void aDamagedCurrentVersionIsQuarantinedAndTheStateHeld(Damage damage) throws IOException {
		byte[] original = commitTwoRevisionsAndDamageTheCurrent(damage);
		Path current = current(this.dataDir, "prod");

		LoadedState loaded = restart().get(0);

		assertThat(loaded.condition()).isEqualTo(Condition.HELD);
		assertThat(loaded.current()).isNull();
		assertThat(loaded.validRevisions()).containsExactly(1L);
		assertThat(loaded.lastRevision()).isGreaterThanOrEqualTo(2);
		assertThat(current).doesNotExist();
		assertThat(quarantined(this.dataDir)).singleElement()
			.satisfies((file) -> assertThat(Files.readAllBytes(file)).isEqualTo(damage.apply(original.clone())));
		assertThat(counter(this.registry, "statekeeper.storage.recoveries", "outcome", "quarantined")).isEqualTo(1);
		assertThat(this.repository.status().quarantined()).isEqualTo(1);
	}

	@ParameterizedTest
	@EnumSource(Damage.class)
	void aDamagedCurrentVersionIsReplacedByTheNewestValidOneUnderRestorePrevious(Damage damage) throws IOException {
		commitTwoRevisionsAndDamageTheCurrent(damage);
		Path current = current(this.dataDir, "prod");

		LoadedState loaded = restart(properties(this.dataDir, 5, StorageProperties.OnCorruption.RESTORE_PREVIOUS))
			.get(0);

		assertThat(loaded.condition()).isEqualTo(Condition.OK);
		assertThat(loaded.current().body()).isEqualTo(state("a"));
		assertThat(loaded.current().header().revision()).isEqualTo(3);
		assertThat(body(current)).isEqualTo(state("a"));
		assertThat(counter(this.registry, "statekeeper.storage.recoveries", "outcome", "restored")).isEqualTo(1);
		assertThat(quarantined(this.dataDir)).hasSize(1);
		// and it stays restored across another restart
		assertThat(restart().get(0).current().header().revision()).isEqualTo(3);
	}

	@Test
	void aDamagedStateWithNoValidVersionIsUnrecoverable() throws IOException {
		start(properties(this.dataDir, 0, StorageProperties.OnCorruption.RESTORE_PREVIOUS)).loadAll();
		write("prod", null, 1, state("a"));
		Files.write(current(this.dataDir, "prod"),
				Damage.BODY_BYTE_FLIPPED.apply(Files.readAllBytes(current(this.dataDir, "prod"))));

		LoadedState loaded = restart(properties(this.dataDir, 0, StorageProperties.OnCorruption.RESTORE_PREVIOUS))
			.get(0);

		assertThat(loaded.condition()).isEqualTo(Condition.UNRECOVERABLE);
		assertThat(loaded.current()).isNull();
		assertThat(loaded.lastRevision()).isEqualTo(1);
		assertThat(counter(this.registry, "statekeeper.storage.recoveries", "outcome", "unrecoverable")).isEqualTo(1);
	}

	/**
	 * An unrecoverable state's damaged files are in quarantine and its directory is
	 * empty. The next start-up must not take that for a first write that never completed:
	 * the state would vanish (404 instead of 503, so a client would start afresh) and its
	 * revisions would start again at 1.
	 */
	@ParameterizedTest
	@EnumSource(Damage.class)
	void anUnrecoverableStateStaysUnrecoverableAcrossRestartsWithItsRevisionCounter(Damage damage) throws IOException {
		StorageProperties noBackups = properties(this.dataDir, 0, StorageProperties.OnCorruption.HOLD);
		start(noBackups).loadAll();
		VersionHeader previous = null;
		for (int revision = 1; revision <= 3; revision++) {
			previous = write("prod", previous, revision, state("r" + revision));
		}
		Path current = current(this.dataDir, "prod");
		Files.write(current, damage.apply(Files.readAllBytes(current)));
		LoadedState first = restart(noBackups).get(0);
		assertThat(first.condition()).isEqualTo(Condition.UNRECOVERABLE);

		LoadedState second = restart(noBackups).get(0);

		assertThat(second.name()).isEqualTo("prod");
		assertThat(second.condition()).isEqualTo(Condition.UNRECOVERABLE);
		assertThat(second.lastRevision()).isEqualTo(first.lastRevision());
		assertThat(quarantined(this.dataDir)).hasSize(1);
		Path dir = stateDir(this.dataDir, "prod");
		assertThat(dir.resolve("damaged-" + first.lastRevision())).isRegularFile();

		// deleted through the API, the state is a tombstone again and the mark goes
		VersionHeader tombstone = this.repository.delete("prod", null, second.lastRevision() + 1, Instant.now());
		LoadedState third = restart(noBackups).get(0);
		assertThat(third.current().header()).isEqualTo(tombstone);
		assertThat(third.lastRevision()).isEqualTo(second.lastRevision() + 1);
		try (Stream<Path> files = Files.list(dir)) {
			assertThat(files.map((file) -> file.getFileName().toString())).containsExactly("current.json", "versions");
		}
	}

	/**
	 * A mark that cannot be left keeps the damaged current version where it is: the state
	 * is reported unrecoverable all the same, and the next start-up finds the damage
	 * again, marks it and moves it to quarantine.
	 */
	@ParameterizedTest
	@CsvSource({ "CREATE, damaged-", "FSYNC_DIR, states/prod" })
	void aMarkThatCannotBeLeftStillReportsTheStateAndIsLeftAtTheNextStartUp(Op op, String path) throws IOException {
		StorageProperties noBackups = properties(this.dataDir, 0, StorageProperties.OnCorruption.HOLD);
		start(noBackups).loadAll();
		write("prod", null, 1, state("a"));
		Path current = current(this.dataDir, "prod");
		Files.write(current, Damage.BODY_BYTE_FLIPPED.apply(Files.readAllBytes(current)));
		Path dir = stateDir(this.dataDir, "prod");
		// no space to create the mark, or its directory's fsync fails: a mark that may
		// not
		// be durable is removed, not trusted
		this.io.fail(op, path, FaultyStorageIo::noSpace, 1);

		LoadedState loaded = restart(noBackups).get(0);

		assertThat(loaded.condition()).isEqualTo(Condition.UNRECOVERABLE);
		assertThat(loaded.lastRevision()).isEqualTo(1);
		assertThat(dir.resolve("damaged-1")).doesNotExist();
		assertThat(current).exists();
		assertThat(quarantined(this.dataDir)).isEmpty();

		LoadedState next = restart(noBackups).get(0);

		assertThat(next.condition()).isEqualTo(Condition.UNRECOVERABLE);
		assertThat(next.lastRevision()).isEqualTo(1);
		assertThat(dir.resolve("damaged-1")).isRegularFile();
		assertThat(current).doesNotExist();
		assertThat(quarantined(this.dataDir)).hasSize(1);
	}

	/**
	 * With a valid version kept, a mark that cannot be left does not keep the damaged
	 * file in place: under restore-previous the restore would rename over it. It goes to
	 * quarantine, the state is restored, and no mark is left behind.
	 */
	@Test
	void aMarkThatCannotBeLeftDoesNotCostTheDamagedBytesOfARestoredState() throws IOException {
		byte[] original = commitTwoRevisionsAndDamageTheCurrent(Damage.BODY_BYTE_FLIPPED);
		this.io.fail(Op.CREATE, "damaged-", FaultyStorageIo::noSpace, 1);

		LoadedState loaded = restart(properties(this.dataDir, 5, StorageProperties.OnCorruption.RESTORE_PREVIOUS))
			.get(0);

		assertThat(loaded.condition()).isEqualTo(Condition.OK);
		assertThat(loaded.current().header().revision()).isEqualTo(3);
		assertThat(loaded.current().body()).isEqualTo(state("a"));
		assertThat(quarantined(this.dataDir)).singleElement()
			.satisfies((file) -> assertThat(Files.readAllBytes(file))
				.isEqualTo(Damage.BODY_BYTE_FLIPPED.apply(original.clone())));
		assertThat(stateDir(this.dataDir, "prod").resolve("damaged-2")).doesNotExist();
	}

	/**
	 * A read that fails at start-up (EIO) is the disk's fault, not the file's: start-up
	 * stops with a message naming the state, and nothing is moved, marked or quarantined.
	 * Once the disk reads again, the state is served as it was.
	 */
	@ParameterizedTest
	@CsvSource({ "OPEN_READ, current.json", "READ, current.json", "OPEN_READ, versions", "READ, versions" })
	void anIoErrorReadingAStateAtStartUpStopsStartUpAndChangesNothing(Op op, String file) throws IOException {
		start().loadAll();
		VersionHeader first = write("prod", null, 1, state("a"));
		write("prod", first, 2, state("b"));
		assertThat(this.repository.awaitPruned(Duration.ofSeconds(10))).isTrue();
		Map<String, String> before = RunningService.snapshot(this.dataDir);
		this.io.fail(op, file, FaultyStorageIo::ioError, 1);

		assertThatIllegalStateException().isThrownBy(this::restart)
			.withMessageContaining("'prod'")
			.withMessageContaining("Input/output error");

		assertThat(RunningService.snapshot(this.dataDir)).isEqualTo(before);
		LoadedState loaded = restart().get(0);
		assertThat(loaded.condition()).isEqualTo(Condition.OK);
		assertThat(loaded.current().body()).isEqualTo(state("b"));
		assertThat(loaded.validRevisions()).containsExactly(1L);
	}

	/**
	 * A held state whose kept versions are found damaged at a later start-up has nothing
	 * left to restore: it becomes unrecoverable, never absent, and keeps its counter.
	 */
	@Test
	void aHeldStateWhoseKeptVersionIsDamagedLaterBecomesUnrecoverable() throws IOException {
		commitTwoRevisionsAndDamageTheCurrent(Damage.BODY_BYTE_FLIPPED);
		LoadedState held = restart().get(0);
		assertThat(held.condition()).isEqualTo(Condition.HELD);
		Path kept = stateDir(this.dataDir, "prod").resolve("versions").resolve("1.json");
		Files.write(kept, Damage.BODY_BYTE_FLIPPED.apply(Files.readAllBytes(kept)));

		LoadedState later = restart().get(0);

		assertThat(later.condition()).isEqualTo(Condition.UNRECOVERABLE);
		assertThat(later.lastRevision()).isEqualTo(held.lastRevision()).isEqualTo(2);
		assertThat(quarantined(this.dataDir)).hasSize(2);
	}

	/**
	 * Pruning runs behind the writes: with removing files held up, writes still complete,
	 * and what is listed and read is already as pruning will leave it.
	 */
	@Test
	@Timeout(60)
	void writesDoNotWaitForPruningAndWhatIsListedIsAlreadyPruned() throws IOException {
		start(properties(this.dataDir, 2, StorageProperties.OnCorruption.HOLD)).loadAll();
		CountDownLatch removing = new CountDownLatch(1);
		this.io.hold(Op.DELETE, removing);
		VersionHeader previous = null;
		for (int revision = 1; revision <= 6; revision++) {
			previous = write("prod", previous, revision, state("r" + revision));
		}

		assertThat(keptFiles("prod")).hasSizeGreaterThan(2);
		assertThat(this.repository.versions("prod")).extracting(VersionHeader::revision).containsExactly(5L, 4L);
		assertThat(this.repository.readVersion("prod", 3)).isNull();
		assertThat(this.repository.readVersion("prod", 4).body()).isEqualTo(state("r4"));

		removing.countDown();
		assertThat(this.repository.awaitPruned(Duration.ofSeconds(10))).isTrue();
		assertThat(keptFiles("prod")).containsExactlyInAnyOrder("5.json", "4.json");
		assertThat(counter(this.registry, "statekeeper.state.backups.pruned")).isEqualTo(3);
		assertThat(this.registry.get("statekeeper.state.backups").gauge().value()).isEqualTo(2);
	}

	/**
	 * A prune that fails costs nothing but disk: the write stands, nothing is lost, the
	 * listing is as pruning would leave it, and the next write's prune removes the rest.
	 */
	@Test
	void aFailedPruneLeavesTheVersionForTheNextWriteToRemove() throws IOException {
		start(properties(this.dataDir, 1, StorageProperties.OnCorruption.HOLD)).loadAll();
		VersionHeader one = write("prod", null, 1, state("a"));
		VersionHeader two = write("prod", one, 2, state("b"));
		assertThat(this.repository.awaitPruned(Duration.ofSeconds(10))).isTrue();
		this.io.fail(Op.DELETE, ".json", FaultyStorageIo::ioError, 1);

		VersionHeader three = write("prod", two, 3, state("c"));

		assertThat(this.repository.awaitPruned(Duration.ofSeconds(10))).isTrue();
		assertThat(keptFiles("prod")).containsExactlyInAnyOrder("2.json", "1.json");
		assertThat(this.repository.versions("prod")).extracting(VersionHeader::revision).containsExactly(2L);
		assertThat(body(current(this.dataDir, "prod"))).isEqualTo(state("c"));
		assertThat(this.repository.readVersion("prod", 2).body()).isEqualTo(state("b"));
		assertThat(this.repository.readVersion("prod", 1)).isNull();

		write("prod", three, 4, state("d"));

		assertThat(this.repository.awaitPruned(Duration.ofSeconds(10))).isTrue();
		assertThat(keptFiles("prod")).containsExactly("3.json");
	}

	/** Closing lets a queued prune finish before the data directory is released. */
	@Test
	@Timeout(60)
	void closingWaitsForQueuedPruning() throws Exception {
		start(properties(this.dataDir, 1, StorageProperties.OnCorruption.HOLD)).loadAll();
		VersionHeader one = write("prod", null, 1, state("a"));
		VersionHeader two = write("prod", one, 2, state("b"));
		assertThat(this.repository.awaitPruned(Duration.ofSeconds(10))).isTrue();
		CountDownLatch removing = new CountDownLatch(1);
		this.io.hold(Op.DELETE, removing);
		write("prod", two, 3, state("c"));
		FileStateRepository closing = this.repository;
		Thread closer = new Thread(closing::close);
		closer.start();

		// close() waits for the pruner (timed), not having returned
		await().atMost(Duration.ofSeconds(30)).until(() -> closer.getState() == Thread.State.TIMED_WAITING);
		assertThat(keptFiles("prod")).containsExactlyInAnyOrder("2.json", "1.json");
		removing.countDown();
		closer.join();

		assertThat(keptFiles("prod")).containsExactly("2.json");
		this.repository = null;
	}

	private List<String> keptFiles(String name) throws IOException {
		try (Stream<Path> files = Files.list(stateDir(this.dataDir, name).resolve("versions"))) {
			return files.map((file) -> file.getFileName().toString()).toList();
		}
	}

	@Test
	void aDamagedKeptVersionIsQuarantinedAndNotListed() throws IOException {
		start().loadAll();
		VersionHeader one = write("prod", null, 1, state("a"));
		VersionHeader two = write("prod", one, 2, state("b"));
		write("prod", two, 3, state("c"));
		Path kept = stateDir(this.dataDir, "prod").resolve("versions/1.json");
		Files.write(kept, Damage.BODY_BYTE_FLIPPED.apply(Files.readAllBytes(kept)));

		LoadedState loaded = restart().get(0);

		assertThat(loaded.condition()).isEqualTo(Condition.OK);
		assertThat(loaded.validRevisions()).containsExactly(2L);
		assertThat(this.repository.versions("prod")).extracting(VersionHeader::revision).containsExactly(2L);
		assertThat(quarantined(this.dataDir)).singleElement()
			.satisfies((file) -> assertThat(file.getFileName().toString()).endsWith("versions-1.json"));
	}

	@Test
	void aVersionFileOfAnotherStateIsDamage() throws IOException {
		start().loadAll();
		VersionHeader a = write("a", null, 1, state("a"));
		write("a", a, 2, state("a2"));
		write("b", null, 1, state("b"));
		Files.copy(current(this.dataDir, "b"), current(this.dataDir, "a"),
				java.nio.file.StandardCopyOption.REPLACE_EXISTING);

		LoadedState loaded = restart().stream().filter((state) -> state.name().equals("a")).findFirst().orElseThrow();

		assertThat(loaded.condition()).isEqualTo(Condition.HELD);
	}

	@Test
	void aVersionDamagedAtRunTimeIsNeverServedAndGoesToQuarantine() throws IOException {
		start().loadAll();
		VersionHeader one = write("prod", null, 1, state("a"));
		write("prod", one, 2, state("b"));
		Path kept = stateDir(this.dataDir, "prod").resolve("versions/1.json");
		Files.write(kept, Damage.TRUNCATED.apply(Files.readAllBytes(kept)));

		assertThatExceptionOfType(StorageException.class).isThrownBy(() -> this.repository.readVersion("prod", 1))
			.satisfies((ex) -> assertThat(ex.getReason()).isEqualTo(Reason.CORRUPT));
		assertThat(kept).doesNotExist();
		assertThat(quarantined(this.dataDir)).hasSize(1);
		assertThat(this.repository.readVersion("prod", 1)).isNull();
	}

	@Test
	void startUpRemovesLeftoverTempFilesAndNeverReusesTheirRevision() throws IOException {
		start().loadAll();
		write("prod", null, 1, state("a"));
		Path leftover = stateDir(this.dataDir, "prod").resolve(".tmp-2-deadbeef");
		Files.write(leftover, state("half"));
		Path orphan = stateDir(this.dataDir, "never-committed");
		Files.createDirectories(orphan.resolve("versions"));
		Files.write(orphan.resolve(".tmp-1-cafe"), state("x"));

		List<LoadedState> loaded = restart();

		assertThat(loaded).singleElement().satisfies((state) -> {
			assertThat(state.name()).isEqualTo("prod");
			assertThat(state.current().body()).isEqualTo(state("a"));
			assertThat(state.lastRevision()).isEqualTo(2);
		});
		assertThat(tempFiles(this.dataDir)).isEmpty();
		assertThat(orphan).doesNotExist();
		assertThat(counter(this.registry, "statekeeper.storage.recoveries", "outcome", "temp-removed")).isEqualTo(2);
	}

	@Test
	void aSecondRepositoryOnTheSameDataDirectoryIsRefused() {
		start().loadAll();
		assertThatIllegalStateException().isThrownBy(() -> open(this.dataDir, new StorageIo()))
			.withMessageContaining("Another Statekeeper process")
			.withMessageContaining(this.dataDir.toAbsolutePath().toString())
			.withMessageContaining("statekeeper.lock");
	}

	@Test
	void aDataDirectoryThatIsAFileIsRefusedWithAClearMessage() throws IOException {
		Path file = this.dataDir.resolve("not-a-dir");
		Files.writeString(file, "x");
		assertThatIllegalStateException().isThrownBy(() -> open(file, this.io))
			.withMessageContaining("Cannot create the data directory")
			.withMessageContaining("not-a-dir");
	}

	@Test
	void aDataDirectoryThatCannotBeWrittenIsRefusedAtStartUp() {
		this.io.fail(Op.CREATE, ".tmp-probe", FaultyStorageIo::accessDenied, 1);
		assertThatIllegalStateException().isThrownBy(() -> open(this.dataDir, this.io))
			.withMessageContaining("is not writable");
		// and it released the lock on the way out
		open(this.dataDir, new StorageIo()).close();
	}

}
