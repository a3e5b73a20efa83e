package io.statekeeper.storage;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Real processes dying at every step: a child JVM halts ({@code Runtime.halt}: no
 * shutdown hook, no unlock) before or after each file-system operation of the write
 * recipe and of start-up recovery; a child taking concurrent writes is killed with
 * SIGKILL again and again; and, when root, real EFBIG and EACCES. After each, recovery
 * must leave every acknowledged write in place.
 */
@Tag("reliability")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ProcessFaultIT {

	static final int KILLS = 200;

	@TempDir
	static Path root;

	private final AtomicInteger failpointRuns = new AtomicInteger();

	private final AtomicInteger lockRuns = new AtomicInteger();

	private final AtomicInteger recoveryRuns = new AtomicInteger();

	private int kills;

	private int acknowledgedChecked;

	@AfterAll
	void report() {
		System.out.println("RELIABILITY process-failpoints write-runs=" + this.failpointRuns.get() + " lock-runs="
				+ this.lockRuns.get() + " recovery-runs=" + this.recoveryRuns.get() + " kills=" + this.kills
				+ " acknowledged-writes-checked=" + this.acknowledgedChecked + " lost=0");
	}

	/** Each step, at each of its n-th calls, halted before and after. */
	private static List<Arguments> failpoints(List<String> ops, List<Integer> calls) {
		List<Arguments> points = new ArrayList<>();
		for (String op : ops) {
			for (int n : calls) {
				for (String when : List.of("before", "after")) {
					points.add(Arguments.of(op, n, when));
				}
			}
		}
		return points;
	}

	static Stream<Arguments> writeFailpoints() {
		List<Arguments> points = failpoints(List.of("CREATE", "WRITE", "FORCE", "LINK", "MOVE", "FSYNC_DIR"),
				List.of(1, 4));
		points.addAll(failpoints(List.of("DELETE"), List.of(1)));
		return points.stream();
	}

	@ParameterizedTest(name = "halt {2} {0} #{1}")
	@MethodSource("writeFailpoints")
	void aProcessHaltedAtAnyStepOfAWriteLosesNoAcknowledgedWrite(String op, int n, String when) throws IOException {
		Path dir = Files.createTempDirectory(root, "halt");
		List<String> output = DriverProcess
			.run(DriverProcess.java("write", dir.toString(), "2", "8", op, String.valueOf(n), when));
		assertThat(output).as("the failpoint was reached").anyMatch((line) -> line.startsWith("HALT "));
		assertThat(output).noneMatch((line) -> line.equals("DONE"));
		Map<String, Long> acknowledged = DriverProcess.acknowledged(output, new HashMap<>());
		DriverProcess.checkInvariant(dir, acknowledged, "replay: halt " + when + " " + op + " #" + n);
		this.acknowledgedChecked += acknowledged.size();
		this.failpointRuns.incrementAndGet();
	}

	static Stream<Arguments> lockFailpoints() {
		return failpoints(List.of("CREATE", "WRITE", "FORCE", "MOVE", "FSYNC_DIR", "DELETE"), List.of(1, 3)).stream();
	}

	@ParameterizedTest(name = "halt {2} {0} #{1} of a lock")
	@MethodSource("lockFailpoints")
	void aProcessHaltedAtAnyStepOfALockLosesNoAcknowledgedLock(String op, int n, String when) throws IOException {
		Path dir = Files.createTempDirectory(root, "lockhalt");
		List<String> output = DriverProcess
			.run(DriverProcess.java("lock", dir.toString(), "9", op, String.valueOf(n), when));
		assertThat(output).as("the failpoint was reached").anyMatch((line) -> line.startsWith("HALT "));
		assertThat(output).as("in the middle of a lock step").anyMatch((line) -> line.startsWith("BEGIN "));
		// per state: the last acknowledged lock id ("-" for none) and the one in flight
		Map<String, String> acknowledged = new HashMap<>(Map.of("s0", "-", "s1", "-"));
		Map<String, String> inFlight = new HashMap<>();
		for (String line : output) {
			String[] words = line.split(" ");
			if (words[0].equals("BEGIN")) {
				inFlight.put(words[1], words[2]);
			}
			else if (words[0].equals("ACK")) {
				acknowledged.put(words[1], words[2]);
				inFlight.remove(words[1]);
			}
		}
		String replay = "replay: halt " + when + " " + op + " #" + n + " of a lock";
		try (FileStateRepository restarted = CrashDriver.open(dir, new StorageIo(), 2,
				StorageProperties.OnCorruption.HOLD)) {
			restarted.loadAll();
			Map<String, StoredLock> locks = restarted.loadLocks();
			for (String name : List.of("s0", "s1")) {
				StoredLock lock = locks.get(name);
				String actual = (lock != null) ? lock.id() : "-";
				assertThat(actual).as(replay + ": the lock of " + name)
					.isIn(acknowledged.get(name), inFlight.getOrDefault(name, acknowledged.get(name)));
				if (lock != null) {
					assertThat(lock.info()).as(replay).isEqualTo(CrashDriver.lockInfo(lock.id()));
				}
			}
		}
		assertThat(StorageTestSupport.tempFiles(dir)).as(replay).isEmpty();
		this.lockRuns.incrementAndGet();
	}

	static Stream<Arguments> recoveryFailpoints() {
		List<Arguments> points = new ArrayList<>();
		for (String[] point : new String[][] { { "DELETE", "1" }, { "MOVE", "1" }, { "MOVE", "2" },
				{ "FSYNC_DIR", "1" }, { "FSYNC_DIR", "3" }, { "CREATE", "1" }, { "FORCE", "1" } }) {
			for (String when : List.of("before", "after")) {
				points.add(Arguments.of(point[0], Integer.parseInt(point[1]), when));
			}
		}
		return points.stream();
	}

	@ParameterizedTest(name = "recovery halts {2} {0} #{1}")
	@MethodSource("recoveryFailpoints")
	void aProcessHaltedDuringRecoveryRecoversOnTheNextStart(String op, int n, String when) throws IOException {
		Path dir = Files.createTempDirectory(root, "recovery");
		List<String> output = DriverProcess.run(DriverProcess.java("write", dir.toString(), "2", "6"));
		Map<String, Long> acknowledged = DriverProcess.acknowledged(output, new HashMap<>());
		// damage s0's current version, and leave a temp file of an interrupted write in
		// s1
		Path current = dir.resolve("states/s0/current.json");
		Files.write(current, Damage.BODY_BYTE_FLIPPED.apply(Files.readAllBytes(current)));
		Files.write(dir.resolve("states/s1/.tmp-9-abc"), new byte[] { 1, 2, 3 });

		List<String> halted = DriverProcess
			.run(DriverProcess.java("recover", dir.toString(), op, String.valueOf(n), when));
		assertThat(halted).as("the failpoint was reached").anyMatch((line) -> line.startsWith("HALT "));

		// the next start (policy restore-previous) finishes the job
		List<String> finished = DriverProcess.run(DriverProcess.java("recover", dir.toString(), "NONE", "1", "before"));
		assertThat(finished).contains("DONE");
		Map<String, Long> s1Only = Map.of("s1", acknowledged.get("s1"));
		Map<String, Long> found = DriverProcess.checkInvariant(dir, s1Only,
				"replay: recovery halts " + when + " " + op + " #" + n, java.util.Set.of("s0"));
		// s0 came back as an earlier version, under a revision never used before
		assertThat(found.get("s0")).isGreaterThan(acknowledged.get("s0"));
		byte[] restored = StorageTestSupport.body(dir.resolve("states/s0/current.json"));
		assertThat(java.util.stream.LongStream.range(1, acknowledged.get("s0"))
			.anyMatch((revision) -> java.util.Arrays.equals(restored, CrashDriver.body("s0", revision))))
			.as("s0 holds one of its earlier revisions")
			.isTrue();
		try (Stream<Path> quarantined = Files.walk(dir.resolve("quarantine"))) {
			assertThat(quarantined.filter(Files::isRegularFile).count()).isEqualTo(1);
		}
		this.acknowledgedChecked += 1;
		this.recoveryRuns.incrementAndGet();
	}

	@Test
	void aProcessKilledAtRandomMomentsUnderConcurrentWritesLosesNoAcknowledgedWrite() throws Exception {
		Path dir = Files.createTempDirectory(root, "kill");
		long seed = new Random().nextLong();
		Random random = new Random(seed);
		Map<String, Long> acknowledged = new HashMap<>();
		for (int kill = 0; kill < KILLS; kill++) {
			Process process = DriverProcess.start(DriverProcess.java("load", dir.toString(), "4"));
			int target = 1 + random.nextInt(40);
			int seen = 0;
			try (BufferedReader reader = DriverProcess.reader(process)) {
				String line;
				while ((line = reader.readLine()) != null) {
					if (line.startsWith("ACK ")) {
						String[] parts = line.split(" ");
						acknowledged.merge(parts[1], Long.parseLong(parts[2]), Math::max);
						if (++seen >= target) {
							break;
						}
					}
				}
				// SIGKILL through the handle: Process.destroyForcibly would also close
				// our end of the pipe
				process.toHandle().destroyForcibly();
				assertThat(process.waitFor(1, TimeUnit.MINUTES)).isTrue();
				// acknowledgements printed before the kill but not read yet were durable
				// too
				while ((line = reader.readLine()) != null) {
					if (line.startsWith("ACK ")) {
						String[] parts = line.split(" ");
						acknowledged.merge(parts[1], Long.parseLong(parts[2]), Math::max);
					}
				}
			}
			Map<String, Long> found = DriverProcess.checkInvariant(dir, acknowledged,
					"replay: seed " + seed + ", kill " + kill);
			this.acknowledgedChecked += acknowledged.size();
			this.kills++;
			// what the next run builds on
			acknowledged.replaceAll((name, revision) -> found.get(name));
		}
		assertThat(acknowledged).hasSize(4);
	}

	private static boolean root() throws IOException, InterruptedException {
		Process id = new ProcessBuilder("id", "-u").start();
		String uid = new String(id.getInputStream().readAllBytes()).strip();
		id.waitFor();
		return uid.equals("0");
	}

	@Test
	void aRealEfbigFailsTheWriteAndLosesNothing() throws Exception {
		Path dir = Files.createTempDirectory(root, "efbig");
		assertThat(DriverProcess.run(DriverProcess.java("once", dir.toString(), "s", "10")))
			.anyMatch((line) -> line.startsWith("OK 1"));
		List<String> command = new ArrayList<>(List.of("sh", "-c", "ulimit -f 64 && exec \"$@\"", "sh"));
		command.addAll(DriverProcess.java("once", dir.toString(), "s", "200000"));
		List<String> output = DriverProcess.run(command);
		assertThat(output).as(String.join("\n", output))
			.anyMatch((line) -> line.startsWith("FAILED io-error") && line.contains("File too large"));
		DriverProcess.checkInvariant(dir, Map.of(), "efbig", java.util.Set.of("s"));
		assertThat(StorageTestSupport.body(dir.resolve("states/s/current.json")))
			.isEqualTo(StorageTestSupport.state("x".repeat(10)));
	}

	@Test
	void aRealPermissionDeniedFailsTheWriteAndLosesNothing() throws Exception {
		assumeTrue(root(),
				"needs root: drops CAP_DAC_OVERRIDE with setpriv to meet a real EACCES (root ignores chmod)");
		assumeTrue(Files.isExecutable(Path.of("/usr/bin/setpriv")), "setpriv (util-linux) is not installed");
		Path dir = Files.createTempDirectory(root, "eacces");
		assertThat(DriverProcess.run(DriverProcess.java("once", dir.toString(), "s", "10")))
			.anyMatch((line) -> line.startsWith("OK 1"));
		// the state's directory now belongs to someone else: readable, not writable
		Path state = dir.resolve("states/s");
		for (String[] command : new String[][] { { "chown", "-R", "65534:65534", state.toString() },
				{ "chmod", "755", state.toString(), state.resolve("versions").toString() },
				{ "chmod", "644", state.resolve("current.json").toString() } }) {
			assertThat(new ProcessBuilder(command).start().waitFor()).isZero();
		}
		List<String> command = new ArrayList<>(List.of("setpriv", "--inh-caps=-dac_override,-dac_read_search,-fowner",
				"--bounding-set=-dac_override,-dac_read_search,-fowner", "--"));
		command.addAll(DriverProcess.java("once", dir.toString(), "s", "20"));
		List<String> output = DriverProcess.run(command);
		assertThat(output).as(String.join("\n", output)).anyMatch((line) -> line.startsWith("FAILED access-denied"));
		assertThat(StorageTestSupport.body(state.resolve("current.json")))
			.isEqualTo(StorageTestSupport.state("x".repeat(10)));
		assertThat(StorageTestSupport.tempFiles(dir)).isEmpty();
	}

	@Test
	void readersInOtherProcessesNeverSeeATornState() throws Exception {
		Path dir = Files.createTempDirectory(root, "readers");
		assertThat(DriverProcess.run(DriverProcess.java("write", dir.toString(), "1", "1"))).contains("DONE");
		List<Process> readers = new ArrayList<>();
		for (int i = 0; i < 2; i++) {
			readers.add(DriverProcess.start(DriverProcess.java("read", dir.toString(), "s0", "3000")));
		}
		List<String> writes = DriverProcess.run(DriverProcess.java("write", dir.toString(), "1", "300"));
		assertThat(writes).contains("DONE");
		for (Process reader : readers) {
			String output = new String(reader.getInputStream().readAllBytes());
			assertThat(reader.waitFor(2, TimeUnit.MINUTES)).isTrue();
			assertThat(output).contains("READS 3000 TORN 0");
		}
	}

}
