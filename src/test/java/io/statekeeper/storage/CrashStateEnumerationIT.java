package io.statekeeper.storage;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Stream;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.statekeeper.storage.CrashModel.Event;
import io.statekeeper.storage.CrashModel.Model;
import io.statekeeper.storage.CrashModel.RecordingIo;
import io.statekeeper.storage.CrashModel.Version;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * ALICE-style crash-state enumeration, in process. A sequence of writes, restores,
 * prunes, deletes, locks and unlocks is recorded at the file-system seam; a POSIX-like
 * persistence model then generates every state the disk could be in after a crash at each
 * point of the trace:
 * <ul>
 * <li>file data that was not fsynced may be lost, kept, or (appends) partly kept;</li>
 * <li>directory entries (create, link, rename, unlink, mkdir) not yet made durable by an
 * fsync of their directory may each be lost or kept, in any combination; a rename is
 * atomic;</li>
 * <li>an fsync is a barrier: what it covered survives.</li>
 * </ul>
 * Each crash state is written to a fresh directory, start-up recovery runs on it, and the
 * invariant is checked: every state and every lock is its last acknowledged version or
 * the one in flight, verified, with no temp file left. Enumerated states first, then
 * random ones; a failure prints the seed and crash point to replay.
 */
@Tag("reliability")
class CrashStateEnumerationIT {

	private static final int ENUMERATED_PER_POINT = 96;

	private static final int RANDOM_STATES = 1000;

	@TempDir
	Path root;

	private List<Event> record(Path dataDir) {
		RecordingIo io = new RecordingIo(dataDir);
		StorageProperties properties = StorageTestSupport.properties(dataDir, 1, StorageProperties.OnCorruption.HOLD);
		FileStateRepository repository = new FileStateRepository(properties, io, Clock.systemUTC(),
				new SimpleMeterRegistry());
		try {
			repository.loadAll();
			repository.loadLocks();
			io.recording = true;
			Map<String, VersionHeader> current = new HashMap<>();
			Map<String, Long> revisions = new HashMap<>();
			String[][] steps = { { "put", "a", "a1" }, { "lock", "a", "id-1" }, { "put", "a", "a2" },
					{ "put", "b", "b1" }, { "put", "a", "a3" }, { "unlock", "a", "" }, { "restore", "a", "2" },
					{ "lock", "b", "id-2" }, { "delete", "b", "" }, { "put", "b", "b2" }, { "lock", "b", "id-3" },
					{ "put", "a", "a5" }, { "put", "b", "b3" }, { "delete", "a", "" }, { "unlock", "b", "" },
					{ "put", "a", "a7" }, { "restore", "b", "3" } };
			for (String[] step : steps) {
				String name = step[1];
				if (step[0].equals("lock")) {
					byte[] info = lockInfo(step[2]);
					io.begin(LOCK + name, info, false);
					repository.writeLock(new StoredLock(name, step[2], info, Instant.now(), Instant.now()));
					io.acknowledge(LOCK + name, info, false);
					continue;
				}
				if (step[0].equals("unlock")) {
					io.begin(LOCK + name, null, true);
					repository.deleteLock(name);
					io.acknowledge(LOCK + name, null, true);
					continue;
				}
				long revision = revisions.merge(name, 1L, Long::sum);
				switch (step[0]) {
					case "put" -> {
						io.begin(name, CrashModel.state(step[2]), false);
						current.put(name, repository.write(name, current.get(name), revision, CrashModel.state(step[2]),
								Instant.now()));
						io.acknowledge(name, CrashModel.state(step[2]), false);
					}
					case "restore" -> {
						byte[] body = repository.readVersion(name, Long.parseLong(step[2])).body();
						io.begin(name, body, false);
						current.put(name, repository.write(name, current.get(name), revision, body, Instant.now()));
						io.acknowledge(name, body, false);
					}
					default -> {
						io.begin(name, null, true);
						current.put(name, repository.delete(name, current.get(name), revision, Instant.now()));
						io.acknowledge(name, null, true);
					}
				}
				// pruning runs on its own thread: recorded right after the write that
				// queued it, so the trace is the same on every run
				assertThat(repository.awaitPruned(java.time.Duration.ofSeconds(10))).isTrue();
			}
			return io.events;
		}
		finally {
			repository.close();
		}
	}

	/** The name a lock goes by in the trace's acknowledged and in-flight maps. */
	private static final String LOCK = "lock:";

	private static byte[] lockInfo(String id) {
		return ("{\"ID\":\"" + id + "\",\"Who\":\"crash\"}").getBytes(java.nio.charset.StandardCharsets.UTF_8);
	}

	private static Map<String, Integer> initialNamespace(Path dataDir) throws IOException {
		Map<String, Integer> names = new TreeMap<>();
		try (Stream<Path> walk = Files.walk(dataDir)) {
			for (Path path : walk.toList()) {
				String rel = dataDir.relativize(path).toString();
				if (!rel.isEmpty() && Files.isDirectory(path)) {
					names.put(rel, CrashModel.DIR);
				}
			}
		}
		return names;
	}

	// ------------------------------------------------------------------ checking

	private int checked;

	private void check(Map<String, byte[]> files, Map<String, Version> acknowledged, Map<String, Version> inFlight,
			String replay) throws IOException {
		Path dir = Files.createTempDirectory(this.root, "crash");
		for (Map.Entry<String, byte[]> entry : files.entrySet()) {
			Path path = dir.resolve(entry.getKey());
			if (entry.getValue() == null) {
				Files.createDirectories(path);
			}
			else {
				Files.createDirectories(path.getParent());
				Files.write(path, entry.getValue());
				Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-------"));
			}
		}
		FileStateRepository repository = new FileStateRepository(
				StorageTestSupport.properties(dir, 1, StorageProperties.OnCorruption.HOLD), new StorageIo(),
				Clock.systemUTC(), new SimpleMeterRegistry());
		try {
			Map<String, LoadedState> loaded = new HashMap<>();
			for (LoadedState state : repository.loadAll()) {
				loaded.put(state.name(), state);
			}
			for (String name : List.of("a", "b")) {
				Version last = acknowledged.getOrDefault(name, Version.ABSENT);
				Version flight = inFlight.get(name);
				LoadedState state = loaded.get(name);
				Version actual;
				if (state == null) {
					actual = Version.ABSENT;
				}
				else {
					assertThat(state.condition()).as("%s: state %s must be servable", replay, name)
						.isEqualTo(LoadedState.Condition.OK);
					actual = state.current().header().deleted() ? Version.ABSENT
							: new Version(state.current().body(), false);
				}
				boolean matches = same(actual, last) || (flight != null && same(actual, flight));
				assertThat(matches)
					.as("%s: state %s must be the last acknowledged version or the one in flight", replay, name)
					.isTrue();
			}
			// a lock is the last acknowledged one or the one in flight too, never damaged
			Map<String, StoredLock> locks = repository.loadLocks();
			for (String name : List.of("a", "b")) {
				Version last = acknowledged.getOrDefault(LOCK + name, Version.ABSENT);
				Version flight = inFlight.get(LOCK + name);
				StoredLock lock = locks.get(name);
				Version actual = (lock != null) ? new Version(lock.info(), false) : Version.ABSENT;
				if (lock != null) {
					assertThat(lock.id()).as("%s: the lock of %s is not damaged", replay, name)
						.isNotEqualTo(StoredLock.DAMAGED_ID);
				}
				assertThat(same(actual, last) || (flight != null && same(actual, flight)))
					.as("%s: the lock of %s must be the last acknowledged one or the one in flight", replay, name)
					.isTrue();
			}
			assertThat(StorageTestSupport.tempFiles(dir)).as(replay).isEmpty();
		}
		finally {
			repository.close();
		}
		this.checked++;
	}

	private static boolean same(Version a, Version b) {
		if (a.tombstone() || b.tombstone()) {
			return a.tombstone() && b.tombstone();
		}
		return Arrays.equals(a.content(), b.content());
	}

	@Test
	void everyCrashStateRecoversToTheLastAcknowledgedVersionOrTheOneInFlight() throws IOException {
		Path dataDir = Files.createDirectory(this.root.resolve("recorded"));
		StorageProperties properties = StorageTestSupport.properties(dataDir, 1, StorageProperties.OnCorruption.HOLD);
		try (FileStateRepository first = new FileStateRepository(properties, new StorageIo(), Clock.systemUTC(),
				new SimpleMeterRegistry())) {
			first.loadAll();
			first.loadLocks();
		}
		Map<String, Integer> initial = initialNamespace(dataDir);
		List<Event> events = record(dataDir);
		assertThat(events).hasSizeGreaterThan(50);

		// enumerated: every crash point, every subset of pending directory operations (up
		// to a bound)
		Model model = new Model(initial);
		Map<String, Version> acknowledged = new HashMap<>();
		Map<String, Version> inFlight = new HashMap<>();
		List<Integer> points = new ArrayList<>();
		int enumerated = 0;
		for (int i = 0; i <= events.size(); i++) {
			if (i > 0) {
				Event event = events.get(i - 1);
				switch (event.type()) {
					case "BEGIN" -> inFlight.put(event.state(), new Version(event.content(), event.tombstone()));
					case "ACK" -> {
						acknowledged.put(event.state(), new Version(event.content(), event.tombstone()));
						inFlight.remove(event.state());
					}
					default -> model.apply(event);
				}
			}
			points.add(i);
			int pending = Math.min(model.pending.size(), 7);
			List<Integer> unsynced = model.unsynced();
			int combinations = 0;
			for (long mask = 0; mask < (1L << pending) && combinations < ENUMERATED_PER_POINT; mask++) {
				for (int choice = 0; choice < 3 && combinations < ENUMERATED_PER_POINT; choice++) {
					if (choice > 0 && unsynced.isEmpty()) {
						break;
					}
					Map<Integer, Integer> data = new HashMap<>();
					for (Integer inode : unsynced) {
						data.put(inode, choice);
					}
					check(model.crash(mask, data), acknowledged, inFlight, "replay: crash point " + i + " of "
							+ events.size() + ", pending mask " + mask + ", data choice " + choice);
					combinations++;
					enumerated++;
				}
			}
		}

		// random: any crash point, any subset of pending operations, any data outcome per
		// inode
		long seed = new Random().nextLong();
		Random random = new Random(seed);
		for (int n = 0; n < RANDOM_STATES; n++) {
			int point = random.nextInt(events.size() + 1);
			Model replayed = new Model(initial);
			Map<String, Version> acked = new HashMap<>();
			Map<String, Version> flight = new HashMap<>();
			for (Event event : events.subList(0, point)) {
				switch (event.type()) {
					case "BEGIN" -> flight.put(event.state(), new Version(event.content(), event.tombstone()));
					case "ACK" -> {
						acked.put(event.state(), new Version(event.content(), event.tombstone()));
						flight.remove(event.state());
					}
					default -> replayed.apply(event);
				}
			}
			long mask = random.nextLong();
			Map<Integer, Integer> data = new HashMap<>();
			for (Integer inode : replayed.unsynced()) {
				data.put(inode, random.nextInt(3));
			}
			check(replayed.crash(mask, data), acked, flight,
					"replay: seed " + seed + ", state " + n + " (crash point " + point + ")");
		}
		System.out.println("RELIABILITY crash-states trace-ops=" + events.size() + " points=" + points.size()
				+ " enumerated=" + enumerated + " random=" + RANDOM_STATES + " seed=" + seed + " checked="
				+ this.checked + " lost=0");
		assertThat(enumerated).isGreaterThanOrEqualTo(500);
	}

}
