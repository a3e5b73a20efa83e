package io.statekeeper.state;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.statekeeper.storage.FaultyStorageIo;
import io.statekeeper.storage.FileStateRepository;
import io.statekeeper.storage.StorageException;
import io.statekeeper.storage.StorageIo;
import io.statekeeper.storage.StorageProperties;
import io.statekeeper.storage.StorageTestSupport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

class StateServiceTests {

	@TempDir
	Path dataDir;

	private FileStateRepository repository;

	private SimpleMeterRegistry registry;

	private StateService service;

	private final List<Object> events = java.util.Collections.synchronizedList(new ArrayList<>());

	@BeforeEach
	void start() {
		start(new StorageIo(), Duration.ofSeconds(10));
	}

	private void start(StorageIo io, Duration lockTimeout) {
		stop();
		StorageProperties base = StorageTestSupport.properties(this.dataDir);
		StorageProperties properties = new StorageProperties(base.dataDir(), base.backupsKept(), base.maxStateSize(),
				base.minFreeSpace(), lockTimeout, base.onCorruption(), null, base.type());
		this.registry = new SimpleMeterRegistry();
		this.repository = new FileStateRepository(properties, io, Clock.systemUTC(), this.registry);
		this.service = new StateService(this.repository, new StateValidator(properties), properties, Clock.systemUTC(),
				this.registry, this.events::add);
	}

	@AfterEach
	void stop() {
		if (this.repository != null) {
			this.repository.close();
			this.repository = null;
		}
	}

	private static Precondition ifMatch(long revision) {
		return Precondition.parse("\"" + revision + "\"", null);
	}

	@Test
	void concurrentReadModifyWriteCyclesWithIfMatchLoseNoUpdate() throws Exception {
		this.service.put("counter", Counters.state(0), Precondition.parse(null, "*"));
		int threads = 8;
		int increments = 100;
		ExecutorService pool = Executors.newFixedThreadPool(threads);
		List<Future<Integer>> conflicts = new ArrayList<>();
		for (int t = 0; t < threads; t++) {
			conflicts.add(pool.submit(() -> {
				int lost = 0;
				for (int done = 0; done < increments;) {
					var current = this.service.get("counter");
					long value = Counters.of(current.body());
					try {
						this.service.put("counter", Counters.state(value + 1), ifMatch(current.header().revision()));
						done++;
					}
					catch (StateProblemException ex) {
						assertThat(ex.getProblem()).isEqualTo(StateProblem.PRECONDITION_FAILED);
						lost++;
					}
				}
				return lost;
			}));
		}
		int refused = 0;
		for (Future<Integer> future : conflicts) {
			refused += future.get(5, TimeUnit.MINUTES);
		}
		pool.shutdown();

		var last = this.service.get("counter");
		assertThat(Counters.of(last.body())).isEqualTo(threads * increments);
		assertThat(last.header().revision()).isEqualTo(1 + threads * increments);
		assertThat(this.registry.get("statekeeper.state.writes")
			.tags("operation", "put", "outcome", "success")
			.timer()
			.count()).isEqualTo(1 + threads * increments);
		assertThat(this.registry.get("statekeeper.state.writes")
			.tags("operation", "put", "outcome", "rejected", "reason", "precondition-failed")
			.timer()
			.count()).isEqualTo(refused);
	}

	/**
	 * Starts a service over {@code io}, commits revision 1 of 'a', and leaves revision 2
	 * held in its fsync on another thread.
	 */
	private CompletableFuture<WriteResult> writeOfAHeldInItsFsync(CountDownLatch release, Duration lockTimeout)
			throws InterruptedException {
		FaultyStorageIo io = new FaultyStorageIo();
		start(io, lockTimeout);
		this.service.put("a", Counters.state(1), Precondition.NONE);
		CountDownLatch entered = new CountDownLatch(1);
		io.holdNext(FaultyStorageIo.Op.FORCE, entered, release);
		CompletableFuture<WriteResult> blocked = putInBlockedThread("a", Counters.state(2));
		assertThat(entered.await(1, TimeUnit.MINUTES)).isTrue();
		return blocked;
	}

	private CompletableFuture<WriteResult> putInBlockedThread(String name, byte[] body) {
		CompletableFuture<WriteResult> result = new CompletableFuture<>();
		Thread thread = new Thread(() -> {
			try {
				result.complete(this.service.put(name, body, Precondition.NONE));
			}
			catch (RuntimeException ex) {
				result.completeExceptionally(ex);
			}
		}, "blocked-writer");
		thread.start();
		return result;
	}

	@Test
	void writersOfDifferentStatesRunInParallelAndReadersNeverWait() throws Exception {
		CountDownLatch release = new CountDownLatch(1);
		CompletableFuture<WriteResult> blocked = writeOfAHeldInItsFsync(release, Duration.ofSeconds(10));

		// while the writer of 'a' is stuck in its fsync, 'b' commits and 'a' is readable
		WriteResult other = this.service.put("b", Counters.state(7), Precondition.NONE);
		assertThat(other.summary().revision()).isEqualTo(1);
		assertThat(Counters.of(this.service.get("a").body())).isEqualTo(1);
		assertThat(blocked).isNotDone();

		release.countDown();
		assertThat(blocked.get(1, TimeUnit.MINUTES).summary().revision()).isEqualTo(2);
		assertThat(Counters.of(this.service.get("a").body())).isEqualTo(2);
	}

	@Test
	void aWriterThatCannotGetTheLockInTimeIsRefusedAsBusy() throws Exception {
		CountDownLatch release = new CountDownLatch(1);
		CompletableFuture<WriteResult> blocked = writeOfAHeldInItsFsync(release, Duration.ofMillis(50));

		assertThatExceptionOfType(StateProblemException.class)
			.isThrownBy(() -> this.service.put("a", Counters.state(3), Precondition.NONE))
			.satisfies((ex) -> assertThat(ex.getProblem()).isEqualTo(StateProblem.BUSY));

		release.countDown();
		blocked.get(1, TimeUnit.MINUTES);
		assertThat(Counters.of(this.service.get("a").body())).isEqualTo(2);
	}

	@Test
	void revisionsAreNeverReusedAfterDeleteRecreateRestoreOrRestart() {
		assertThat(this.service.put("s", Counters.state(1), Precondition.NONE).summary().revision()).isEqualTo(1);
		this.service.delete("s", ifMatch(1));
		assertThatExceptionOfType(StateProblemException.class).isThrownBy(() -> this.service.get("s"))
			.satisfies((ex) -> assertThat(ex.getProblem()).isEqualTo(StateProblem.NOT_FOUND));
		WriteResult recreated = this.service.put("s", Counters.state(2), Precondition.parse(null, "*"));
		assertThat(recreated.created()).isTrue();
		assertThat(recreated.summary().revision()).isEqualTo(3);
		// a stale ETag from before the delete can never match
		assertThatExceptionOfType(StateProblemException.class)
			.isThrownBy(() -> this.service.put("s", Counters.state(9), ifMatch(1)))
			.satisfies((ex) -> assertThat(ex.getProblem()).isEqualTo(StateProblem.PRECONDITION_FAILED));

		WriteResult restored = this.service.restore("s", 1, Precondition.NONE);
		assertThat(restored.summary().revision()).isEqualTo(4);
		assertThat(Counters.of(this.service.get("s").body())).isEqualTo(1);

		start();
		assertThat(this.service.get("s").header().revision()).isEqualTo(4);
		assertThat(this.service.put("s", Counters.state(5), ifMatch(4)).summary().revision()).isEqualTo(5);
		this.service.delete("s", Precondition.NONE);
		start();
		assertThat(this.service.put("s", Counters.state(6), Precondition.NONE).summary().revision()).isEqualTo(7);
	}

	@Test
	void aNameOnlyARefusedWriteEverUsedHasNoVersions() {
		assertThatExceptionOfType(StateProblemException.class)
			.isThrownBy(() -> this.service.delete("ghost", Precondition.NONE))
			.satisfies((ex) -> assertThat(ex.getProblem()).isEqualTo(StateProblem.NOT_FOUND));
		assertThatExceptionOfType(StateProblemException.class).isThrownBy(() -> this.service.versions("ghost"))
			.satisfies((ex) -> assertThat(ex.getProblem()).isEqualTo(StateProblem.NOT_FOUND));
		assertThat(this.service.list()).isEmpty();
	}

	@Test
	void ifNoneMatchStarRefusesToOverwriteAnExistingState() {
		this.service.put("s", Counters.state(1), Precondition.parse(null, "*"));
		assertThatExceptionOfType(StateProblemException.class)
			.isThrownBy(() -> this.service.put("s", Counters.state(2), Precondition.parse(null, "*")))
			.satisfies((ex) -> assertThat(ex.getProblem()).isEqualTo(StateProblem.PRECONDITION_FAILED));
		assertThat(Counters.of(this.service.get("s").body())).isEqualTo(1);
	}

	@Test
	void versionsListTheCurrentThenTheKeptOnesNewestFirst() {
		this.service.put("s", Counters.state(1), Precondition.NONE);
		this.service.put("s", Counters.state(2), Precondition.NONE);
		this.service.put("s", Counters.state(3), Precondition.NONE);

		assertThat(this.service.versions("s")).extracting(VersionSummary::revision, VersionSummary::current)
			.containsExactly(org.assertj.core.groups.Tuple.tuple(3L, true),
					org.assertj.core.groups.Tuple.tuple(2L, false), org.assertj.core.groups.Tuple.tuple(1L, false));
		assertThat(Counters.of(this.service.version("s", 2).body())).isEqualTo(2);
		assertThat(Counters.of(this.service.version("s", 3).body())).isEqualTo(3);
		assertThatExceptionOfType(StateProblemException.class).isThrownBy(() -> this.service.version("s", 99))
			.satisfies((ex) -> assertThat(ex.getProblem()).isEqualTo(StateProblem.VERSION_NOT_FOUND));
	}

	@Test
	void anInvalidStateIsRejectedBeforeTheStoreIsTouched() {
		assertThatExceptionOfType(StateProblemException.class)
			.isThrownBy(
					() -> this.service.put("s", "{\"version\":1}".getBytes(StandardCharsets.UTF_8), Precondition.NONE))
			.satisfies((ex) -> assertThat(ex.getProblem()).isEqualTo(StateProblem.NOT_A_STATE));
		assertThat(this.dataDir.resolve("states/s")).doesNotExist();
		assertThat(this.registry.get("statekeeper.state.writes")
			.tags("operation", "put", "outcome", "rejected", "reason", "not-a-state")
			.timer()
			.count()).isEqualTo(1);
	}

	@Test
	void aStorageFailureIsCountedAsFailedWithItsReason() {
		FaultyStorageIo io = new FaultyStorageIo();
		start(io, Duration.ofSeconds(1));
		io.fail(FaultyStorageIo.Op.WRITE, ".tmp-", FaultyStorageIo::noSpace, 1);

		assertThatExceptionOfType(StorageException.class)
			.isThrownBy(() -> this.service.put("s", Counters.state(1), Precondition.NONE));

		assertThat(this.registry.get("statekeeper.state.writes")
			.tags("operation", "put", "outcome", "failed", "reason", "no-space")
			.timer()
			.count()).isEqualTo(1);
		assertThatExceptionOfType(StateProblemException.class).isThrownBy(() -> this.service.get("s"));
		assertThat(this.service.put("s", Counters.state(2), Precondition.NONE).summary().revision()).isPositive();
	}

	@Test
	void invalidUtf8InANameIsRefusedEvenAfterALookalikeNameAndChangesNothingOnDisk() throws Exception {
		// Jackson alone accepted "generati\xFFn" once it had seen "generatin"; a number
		// too long for the scanner sends the first body to Jackson
		String template = "{\"version\":1,\"resources\":{},\"metadata\":{\"NAME\":"
				+ "7".repeat(StrictJsonScanner.MAX_NUMBER_LENGTH + 1) + "}}";
		byte[] lookalike = template.replace("NAME", "generatin").getBytes(StandardCharsets.US_ASCII);
		assertThat(this.service.put("s", lookalike, Precondition.NONE).summary().revision()).isEqualTo(1);
		var before = io.statekeeper.RunningService.snapshot(this.dataDir.resolve("states"));
		byte[] invalid = template.replace("NAME", "generatiXn").getBytes(StandardCharsets.US_ASCII);
		invalid[template.indexOf("NAME") + "generati".length()] = (byte) 0xFF;

		assertThatExceptionOfType(StateProblemException.class)
			.isThrownBy(() -> this.service.put("s", invalid, Precondition.NONE))
			.satisfies((ex) -> assertThat(ex.getProblem()).isEqualTo(StateProblem.MALFORMED_JSON));

		assertThat(io.statekeeper.RunningService.snapshot(this.dataDir.resolve("states"))).isEqualTo(before);
		assertThat(this.service.get("s").body()).isEqualTo(lookalike);
		assertThat(this.service.get("s").header().revision()).isEqualTo(1);
	}

	@Test
	void aLargeBodyIsValidatedAlongsideItsWriteAndAnInvalidOneChangesNothingOnDisk() throws Exception {
		byte[] valid = io.statekeeper.SampleStates.of(4 * PendingValidation.ALONGSIDE_FROM, 1);
		assertThat(this.service.put("big", valid, Precondition.NONE).summary().revision()).isEqualTo(1);
		assertThat(this.service.get("big").body()).isEqualTo(valid);
		var before = io.statekeeper.RunningService.snapshot(this.dataDir.resolve("states"));

		byte[] truncated = java.util.Arrays.copyOf(valid, valid.length - 1);
		assertThatExceptionOfType(StateProblemException.class)
			.isThrownBy(() -> this.service.put("big", truncated, Precondition.NONE))
			.satisfies((ex) -> assertThat(ex.getProblem()).isEqualTo(StateProblem.MALFORMED_JSON));
		byte[] notAState = new String(valid, StandardCharsets.US_ASCII).replace("\"metadata\"", "\"metadatum\"")
			.getBytes(StandardCharsets.US_ASCII);
		assertThatExceptionOfType(StateProblemException.class)
			.isThrownBy(() -> this.service.put("big", notAState, Precondition.NONE))
			.satisfies((ex) -> assertThat(ex.getProblem()).isEqualTo(StateProblem.NOT_A_STATE));
		// an invalid body is refused as invalid even when its condition fails too, as if
		// it had been validated first
		assertThatExceptionOfType(StateProblemException.class)
			.isThrownBy(() -> this.service.put("big", truncated, ifMatch(7)))
			.satisfies((ex) -> assertThat(ex.getProblem()).isEqualTo(StateProblem.MALFORMED_JSON));

		assertThat(io.statekeeper.RunningService.snapshot(this.dataDir.resolve("states"))).isEqualTo(before);
		assertThat(StorageTestSupport.tempFiles(this.dataDir)).isEmpty();
		assertThat(this.service.get("big").header().revision()).isEqualTo(1);
		// the refused bodies used up no revision: the next write is 2, not 4
		assertThat(this.service.put("big", valid, Precondition.NONE).summary().revision()).isEqualTo(2);
	}

}
