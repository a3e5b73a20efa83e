package io.statekeeper.system;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import java.util.stream.Stream;

import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import org.springframework.http.HttpStatus;

import io.statekeeper.state.LockService;
import io.statekeeper.state.Precondition;
import io.statekeeper.state.StateService;
import io.statekeeper.state.StateValidator;
import io.statekeeper.storage.FaultyStorageIo;
import io.statekeeper.storage.FaultyStorageIo.Op;
import io.statekeeper.storage.FileStateRepository;
import io.statekeeper.storage.LoadedState;
import io.statekeeper.storage.StorageException;
import io.statekeeper.storage.StorageProperties;
import io.statekeeper.storage.StoredLock;
import io.statekeeper.storage.StorageTestSupport;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every storage operation a write performs × every fault kind × once or always, through
 * the I/O seam, for PUT, DELETE and restore. Each case checks: the status the client
 * would see (507 for a full store, 503 otherwise, never 2xx for a write that was not made
 * durable), the metric outcome, whether the store stays writable or turns read-only
 * exactly as the design says (only a failed directory fsync does that), and after a
 * restart the invariant: each state is the last acknowledged version or the one in
 * flight, verified, 0600, no temp file. Locks get the same matrix: taking and releasing
 * one fails exactly when a step it needs fails, leaves the lock as it was, and after a
 * restart the lock is the one before or the one in flight, never damaged.
 */
@Tag("reliability")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FaultMatrixIT {

	private static final AtomicInteger cases = new AtomicInteger();

	@TempDir
	static Path root;

	enum Fault {

		ENOSPC(FaultyStorageIo::noSpace, StorageException.Reason.NO_SPACE),
		EIO(FaultyStorageIo::ioError, StorageException.Reason.IO_ERROR),
		EACCES(FaultyStorageIo::accessDenied, StorageException.Reason.ACCESS_DENIED),
		EROFS(FaultyStorageIo::readOnly, StorageException.Reason.READ_ONLY),
		RUNTIME(() -> new IllegalStateException("unexpected"), StorageException.Reason.IO_ERROR),
		SHORT_WRITE(null, null);

		final Supplier<Exception> exception;

		final StorageException.Reason reason;

		Fault(Supplier<Exception> exception, StorageException.Reason reason) {
			this.exception = exception;
			this.reason = reason;
		}

	}

	/** The operations of one write, and which file each targets. */
	static final Map<Op, String> STEPS = Map.of(Op.CREATE, ".tmp-", Op.WRITE, ".tmp-", Op.FORCE, ".tmp-", Op.CLOSE,
			".tmp-", Op.OPEN_READ, ".tmp-", Op.READ, ".tmp-", Op.LINK, "versions", Op.MOVE, "current.json",
			Op.FSYNC_DIR, "s", Op.DELETE, ".json");

	static Stream<Arguments> matrix() {
		List<Arguments> all = new ArrayList<>();
		for (String operation : List.of("put", "delete", "restore")) {
			for (Op op : STEPS.keySet().stream().sorted().toList()) {
				for (Fault fault : Fault.values()) {
					for (boolean always : List.of(false, true)) {
						if (fault == Fault.SHORT_WRITE && op != Op.WRITE) {
							continue;
						}
						all.add(Arguments.of(operation, op, fault, always));
					}
				}
			}
		}
		return all.stream();
	}

	@AfterAll
	void report() {
		System.out.println("RELIABILITY fault-matrix cases=" + cases.get() + " lost=0");
	}

	@ParameterizedTest(name = "{0}: {1} fails with {2} (always={3})")
	@MethodSource("matrix")
	void aFaultAtAnyStepLosesNothingAndAnswersAsDesigned(String operation, Op op, Fault fault, boolean always)
			throws IOException {
		Store store = Store.open("case");
		Path dataDir = store.dataDir();
		StorageProperties properties = store.properties();
		FaultyStorageIo io = store.io();
		SimpleMeterRegistry registry = store.registry();
		FileStateRepository repository = store.repository();
		StateService service = store.service();
		byte[] acknowledged = null;
		byte[] inFlight;
		try {
			// three acknowledged revisions: the third write prunes, so DELETE is
			// exercised too
			for (int i = 1; i <= 3; i++) {
				acknowledged = StorageTestSupport.state("r" + i);
				service.put("s", acknowledged, Precondition.NONE);
			}
			// pruning runs behind the writes: the setup's must be done before the fault
			// is set, and the operation's before it is cleared, or a DELETE fault would
			// hit the wrong prune or none
			assertThat(repository.awaitPruned(Duration.ofSeconds(10))).isTrue();
			inFlight = switch (operation) {
				case "put" -> StorageTestSupport.state("r4");
				case "restore" -> StorageTestSupport.state("r2");
				default -> null; // a tombstone
			};
			if (fault == Fault.SHORT_WRITE) {
				io.shortWrites(3);
			}
			else {
				io.fail(op, STEPS.get(op), fault.exception, always ? Integer.MAX_VALUE : 1);
			}

			HttpStatus status;
			StorageException failure = null;
			try {
				switch (operation) {
					case "put" -> service.put("s", inFlight, Precondition.NONE);
					case "restore" -> service.restore("s", 2, Precondition.NONE);
					default -> service.delete("s", Precondition.NONE);
				}
				status = HttpStatus.OK;
			}
			catch (StorageException ex) {
				failure = ex;
				status = ProblemHandler.statusFor(ex.getReason());
			}
			assertThat(repository.awaitPruned(Duration.ofSeconds(10))).isTrue();
			io.clearFaults();
			String outcome = (failure == null) ? "success" : "failed";
			long setupPuts = (operation.equals("put") && failure == null) ? 3 : 0;
			assertThat(registry.get("statekeeper.state.writes")
				.tags("operation", operation, "outcome", outcome)
				.timers()
				.stream()
				.mapToLong(Timer::count)
				.sum()).isEqualTo(1 + setupPuts);

			assertThat(failure == null).as("the write fails exactly when a step it needs fails")
				.isEqualTo(op == Op.DELETE || fault == Fault.SHORT_WRITE);
			if (failure != null) {
				// never a 2xx for a write that was not made durable; 507 only for a full
				// store
				assertThat(status).isIn(HttpStatus.INSUFFICIENT_STORAGE, HttpStatus.SERVICE_UNAVAILABLE);
				if (op == Op.FSYNC_DIR) {
					assertThat(failure.getReason()).isEqualTo(StorageException.Reason.DURABILITY_UNKNOWN);
					assertThat(repository.status().readOnlyReason()).isNotNull();
				}
				else {
					assertThat(failure.getReason()).isEqualTo(fault.reason);
					assertThat(status).isEqualTo(
							(fault == Fault.ENOSPC) ? HttpStatus.INSUFFICIENT_STORAGE : HttpStatus.SERVICE_UNAVAILABLE);
					// the store stays writable: the temp file was the only thing touched
					assertThat(repository.status().readOnlyReason()).isNull();
					assertThat(service.get("s").body()).isEqualTo(acknowledged);
					assertThat(StorageTestSupport.tempFiles(dataDir)).isEmpty();
				}
			}
			else {
				// only faults that cannot fail a write may leave it acknowledged: pruning
				// after the commit,
				// and short writes (the write loop completes them)
				assertThat(op == Op.DELETE || fault == Fault.SHORT_WRITE).as("a fault in %s was swallowed", op)
					.isTrue();
				if (op == Op.DELETE) {
					// the fault did reach the prune: the version it would have removed
					// is still there, one beyond backups-kept
					try (Stream<Path> kept = Files
						.list(StorageTestSupport.stateDir(dataDir, "s").resolve("versions"))) {
						assertThat(kept.count()).isEqualTo(3);
					}
				}
				acknowledged = inFlight;
			}
		}
		finally {
			repository.close();
		}

		// restart: recovery re-verifies everything
		byte[] lastAcknowledged = acknowledged;
		byte[] flight = inFlight;
		FileStateRepository restarted = new FileStateRepository(properties, new FaultyStorageIo(), Clock.systemUTC(),
				new SimpleMeterRegistry());
		try {
			List<LoadedState> loaded = restarted.loadAll();
			assertThat(loaded).singleElement().satisfies((state) -> {
				assertThat(state.condition()).isEqualTo(LoadedState.Condition.OK);
				byte[] body = state.current().header().deleted() ? null : state.current().body();
				assertThat(Arrays.equals(body, lastAcknowledged) || Arrays.equals(body, flight))
					.as("the state after restart is the last acknowledged one or the one in flight")
					.isTrue();
			});
			assertThat(StorageTestSupport.tempFiles(dataDir)).isEmpty();
			assertOwnerOnly(dataDir);
			// and the store takes writes again
			assertThat(restarted.status().readOnlyReason()).isNull();
		}
		finally {
			restarted.close();
		}
		cases.incrementAndGet();
	}

	/** The steps of taking a lock (a durable replace) and of releasing it (unlink). */
	static final Map<String, List<Op>> LOCK_STEPS = Map.of("lock",
			List.of(Op.CREATE, Op.WRITE, Op.FORCE, Op.CLOSE, Op.MOVE, Op.FSYNC_DIR), "unlock",
			List.of(Op.DELETE, Op.FSYNC_DIR));

	static Stream<Arguments> lockMatrix() {
		List<Arguments> all = new ArrayList<>();
		for (String operation : List.of("lock", "unlock")) {
			for (Op op : LOCK_STEPS.get(operation)) {
				for (Fault fault : Fault.values()) {
					if (fault == Fault.SHORT_WRITE && op != Op.WRITE) {
						continue;
					}
					for (boolean always : List.of(false, true)) {
						all.add(Arguments.of(operation, op, fault, always));
					}
				}
			}
		}
		return all.stream();
	}

	@ParameterizedTest(name = "{0}: {1} fails with {2} (always={3})")
	@MethodSource("lockMatrix")
	void aFaultInALockStepLosesNoLockAndAnswersAsDesigned(String operation, Op op, Fault fault, boolean always)
			throws IOException {
		Store store = Store.open("lockcase");
		Path dataDir = store.dataDir();
		StorageProperties properties = store.properties();
		FaultyStorageIo io = store.io();
		FileStateRepository repository = store.repository();
		StateService service = store.service();
		LockService locks = new LockService(service);
		byte[] info = "{\"ID\":\"id-1\",\"Who\":\"matrix\"}".getBytes(java.nio.charset.StandardCharsets.UTF_8);
		boolean lockedBefore = operation.equals("unlock");
		StorageException failure = null;
		try {
			service.put("s", StorageTestSupport.state("r1"), Precondition.NONE);
			if (lockedBefore) {
				locks.lock("s", info);
			}
			if (fault == Fault.SHORT_WRITE) {
				io.shortWrites(3);
			}
			else {
				io.fail(op, (op == Op.FSYNC_DIR) ? "locks" : "locks/", fault.exception, always ? Integer.MAX_VALUE : 1);
			}
			try {
				if (lockedBefore) {
					locks.release("s", "id-1");
				}
				else {
					locks.lock("s", info);
				}
			}
			catch (StorageException ex) {
				failure = ex;
			}
			io.clearFaults();
			assertThat(failure == null).as("a lock step fails exactly when a step it needs fails")
				.isEqualTo(fault == Fault.SHORT_WRITE);
			if (failure != null) {
				assertThat(ProblemHandler.statusFor(failure.getReason())).isIn(HttpStatus.INSUFFICIENT_STORAGE,
						HttpStatus.SERVICE_UNAVAILABLE);
				// what the service answers from memory is what it had before
				assertThat(locks.current("s") != null).isEqualTo(lockedBefore);
				if (op == Op.FSYNC_DIR) {
					assertThat(failure.getReason()).isEqualTo(StorageException.Reason.DURABILITY_UNKNOWN);
					assertThat(repository.status().readOnlyReason()).isNotNull();
				}
				else {
					assertThat(failure.getReason()).isEqualTo(fault.reason);
					assertThat(repository.status().readOnlyReason()).isNull();
					assertThat(StorageTestSupport.tempFiles(dataDir)).isEmpty();
				}
			}
			else {
				assertThat(locks.current("s") != null).isEqualTo(!lockedBefore);
			}
		}
		finally {
			repository.close();
		}
		FileStateRepository restarted = new FileStateRepository(properties, new FaultyStorageIo(), Clock.systemUTC(),
				new SimpleMeterRegistry());
		try {
			restarted.loadAll();
			Map<String, StoredLock> loaded = restarted.loadLocks();
			if (failure == null || op != Op.FSYNC_DIR) {
				// acknowledged, or refused before the change was made: exactly that
				boolean locked = (failure == null) != lockedBefore;
				assertThat(loaded.containsKey("s")).isEqualTo(locked);
			}
			// the one before or the one in flight: never damaged, never torn
			loaded.values().forEach((lock) -> {
				assertThat(lock.id()).isEqualTo("id-1");
				assertThat(lock.info()).isEqualTo(info);
			});
			assertThat(StorageTestSupport.tempFiles(dataDir)).isEmpty();
			assertOwnerOnly(dataDir);
		}
		finally {
			restarted.close();
		}
		cases.incrementAndGet();
	}

	/** A store on a fresh data directory, its I/O through the fault-injecting seam. */
	record Store(Path dataDir, StorageProperties properties, FaultyStorageIo io, SimpleMeterRegistry registry,
			FileStateRepository repository, StateService service) {

		static Store open(String prefix) throws IOException {
			Path dataDir = Files.createTempDirectory(root, prefix);
			StorageProperties properties = StorageTestSupport.properties(dataDir, 2,
					StorageProperties.OnCorruption.HOLD);
			FaultyStorageIo io = new FaultyStorageIo();
			SimpleMeterRegistry registry = new SimpleMeterRegistry();
			FileStateRepository repository = new FileStateRepository(properties, io, Clock.systemUTC(), registry);
			StateService service = new StateService(repository, new StateValidator(properties), properties,
					Clock.systemUTC(), registry, (event) -> {
					});
			return new Store(dataDir, properties, io, registry, repository, service);
		}

	}

	private static void assertOwnerOnly(Path dataDir) throws IOException {
		try (Stream<Path> files = Files.walk(dataDir)) {
			for (Path file : files.filter(Files::isRegularFile).toList()) {
				assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).as(file.toString())
					.isEqualTo("rw-------");
			}
		}
	}

}
