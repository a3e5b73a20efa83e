package io.statekeeper.storage;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

/**
 * A lean main over the real {@link FileStateRepository} (no Spring, starts in a fraction
 * of a second), run as a child process by the reliability tests:
 * <ul>
 * <li>{@code write
 *
<dir>
 *  <states> <writes> [<op> <n> before|after]}: writes round-robin to {@code states}
 * states, printing {@code ACK <name> <revision>} once each write is durable; with a
 * failpoint, the process halts ({@code Runtime.halt}, no shutdown hooks, no flush) at the
 * n-th call of that seam operation;</li>
 * <li>{@code recover
 *
<dir>
 *  <op> <n> before|after}: start-up recovery (policy restore-previous) with a
 * failpoint;</li>
 * <li>{@code load
 *
<dir>
 *  <threads>}: one writer thread per state, writing until killed;</li>
 * <li>{@code once
 *
<dir>
 *  <name> <size>}: one write, printing {@code OK} or {@code FAILED <reason>};</li>
 * <li>{@code read
 *
<dir>
 *  <name> <reads>}: reads {@code current.json} straight from disk while others write,
 * printing {@code READS <n> TORN <m>}.</li>
 * </ul>
 * The body of revision r of state s is {@link #body(String, long)}, so a checker knows
 * what every revision holds.
 */
public final class CrashDriver {

	private static final PrintStream out = System.out;

	private CrashDriver() {
	}

	/** The lock information the {@code lock} mode writes for {@code id}. */
	static byte[] lockInfo(String id) {
		return ("{\"ID\":\"" + id + "\",\"Who\":\"driver\"}").getBytes(java.nio.charset.StandardCharsets.UTF_8);
	}

	public static byte[] body(String name, long revision) {
		return StorageTestSupport.state(name + "-" + revision + "-" + "p".repeat((int) (revision % 7) * 100));
	}

	/** Halts the JVM at the n-th call of one operation. */
	static final class HaltingIo extends StorageIo {

		private final String op;

		private final boolean before;

		private final AtomicInteger left;

		/**
		 * Steps are counted only once armed (from the start, unless {@link #disarmed}).
		 */
		private volatile boolean armed = true;

		HaltingIo(String op, int n, boolean before) {
			this.op = op;
			this.before = before;
			this.left = new AtomicInteger(n);
		}

		/**
		 * Counts nothing until {@link #arm()}: start-up's own steps are not the target.
		 */
		HaltingIo disarmed() {
			this.armed = false;
			return this;
		}

		void arm() {
			this.armed = true;
		}

		private void step(String name, IoAction action) throws IOException {
			boolean here = this.armed && name.equals(this.op) && this.left.decrementAndGet() == 0;
			if (here && this.before) {
				halt(name + " before");
			}
			action.run();
			if (here) {
				halt(name + " after");
			}
		}

		private static void halt(String where) {
			out.println("HALT " + where);
			out.flush();
			Runtime.getRuntime().halt(99);
		}

		@FunctionalInterface
		interface IoAction {

			void run() throws IOException;

		}

		@Override
		public FileChannel createNew(Path file) throws IOException {
			FileChannel[] channel = new FileChannel[1];
			step("CREATE", () -> channel[0] = super.createNew(file));
			return channel[0];
		}

		@Override
		public int write(FileChannel channel, ByteBuffer buffer) throws IOException {
			int[] written = new int[1];
			step("WRITE", () -> written[0] = super.write(channel, buffer));
			return written[0];
		}

		@Override
		public void force(FileChannel channel) throws IOException {
			step("FORCE", () -> super.force(channel));
		}

		@Override
		public void link(Path link, Path existing) throws IOException {
			step("LINK", () -> super.link(link, existing));
		}

		@Override
		public void move(Path source, Path target) throws IOException {
			step("MOVE", () -> super.move(source, target));
		}

		@Override
		public void fsyncDirectory(Path directory) throws IOException {
			step("FSYNC_DIR", () -> super.fsyncDirectory(directory));
		}

		@Override
		public boolean delete(Path file) throws IOException {
			boolean[] deleted = new boolean[1];
			step("DELETE", () -> deleted[0] = super.delete(file));
			return deleted[0];
		}

	}

	static FileStateRepository open(Path dir, StorageIo io, int backupsKept,
			StorageProperties.OnCorruption onCorruption) {
		return new FileStateRepository(StorageTestSupport.properties(dir, backupsKept, onCorruption), io,
				Clock.systemUTC(), new SimpleMeterRegistry());
	}

	public static void main(String[] args) throws Exception {
		Path dir = Path.of(args[1]);
		switch (args[0]) {
			case "write" -> {
				StorageIo io = (args.length > 4)
						? new HaltingIo(args[4], Integer.parseInt(args[5]), args[6].equals("before")) : new StorageIo();
				FileStateRepository repository = open(dir, io, 2, StorageProperties.OnCorruption.HOLD);
				Map<String, VersionHeader> current = new HashMap<>();
				for (LoadedState state : repository.loadAll()) {
					current.put(state.name(), (state.current() != null) ? state.current().header() : null);
				}
				int states = Integer.parseInt(args[2]);
				int writes = Integer.parseInt(args[3]);
				for (int i = 0; i < writes; i++) {
					String name = "s" + (i % states);
					VersionHeader previous = current.get(name);
					long revision = (previous != null) ? previous.revision() + 1 : 1;
					current.put(name, repository.write(name, previous, revision, body(name, revision), Instant.now()));
					out.println("ACK " + name + " " + revision);
					out.flush();
				}
				out.println("DONE");
			}
			case "lock" -> {
				// locks taken over and released on two states, each announced before it
				// starts and acknowledged once it returned
				HaltingIo io = new HaltingIo(args[3], Integer.parseInt(args[4]), args[5].equals("before")).disarmed();
				FileStateRepository repository = open(dir, io, 2, StorageProperties.OnCorruption.HOLD);
				repository.loadAll();
				repository.loadLocks();
				io.arm();
				int steps = Integer.parseInt(args[2]);
				for (int i = 0; i < steps; i++) {
					String name = "s" + (i % 2);
					if (i % 3 == 2) {
						out.println("BEGIN " + name + " -");
						out.flush();
						repository.deleteLock(name);
						out.println("ACK " + name + " -");
					}
					else {
						String id = "id-" + i;
						out.println("BEGIN " + name + " " + id);
						out.flush();
						repository.writeLock(new StoredLock(name, id, lockInfo(id), Instant.EPOCH, Instant.EPOCH));
						out.println("ACK " + name + " " + id);
					}
					out.flush();
				}
				out.println("DONE");
			}
			case "recover" -> {
				StorageIo io = new HaltingIo(args[2], Integer.parseInt(args[3]), args[4].equals("before"));
				open(dir, io, 2, StorageProperties.OnCorruption.RESTORE_PREVIOUS).loadAll();
				out.println("DONE");
			}
			case "load" -> {
				FileStateRepository repository = open(dir, new StorageIo(), 2, StorageProperties.OnCorruption.HOLD);
				Map<String, VersionHeader> current = new HashMap<>();
				for (LoadedState state : repository.loadAll()) {
					current.put(state.name(), (state.current() != null) ? state.current().header() : null);
				}
				int threads = Integer.parseInt(args[2]);
				List<Thread> writers = new ArrayList<>();
				for (int t = 0; t < threads; t++) {
					String name = "s" + t;
					Thread writer = new Thread(() -> {
						VersionHeader previous = current.get(name);
						while (true) {
							long revision = (previous != null) ? previous.revision() + 1 : 1;
							previous = repository.write(name, previous, revision, body(name, revision), Instant.now());
							synchronized (out) {
								out.println("ACK " + name + " " + revision);
								out.flush();
							}
						}
					});
					writers.add(writer);
				}
				out.println("READY");
				out.flush();
				writers.forEach(Thread::start);
				for (Thread writer : writers) {
					writer.join();
				}
			}
			case "once" -> {
				FileStateRepository repository = open(dir, new StorageIo(), 2, StorageProperties.OnCorruption.HOLD);
				VersionHeader previous = null;
				for (LoadedState state : repository.loadAll()) {
					if (state.name().equals(args[2]) && state.current() != null) {
						previous = state.current().header();
					}
				}
				long revision = (previous != null) ? previous.revision() + 1 : 1;
				byte[] body = StorageTestSupport.state("x".repeat(Integer.parseInt(args[3])));
				try {
					repository.write(args[2], previous, revision, body, Instant.now());
					out.println("OK " + revision);
				}
				catch (StorageException ex) {
					out.println("FAILED " + ex.getReason().tag() + " " + ex.getMessage());
				}
			}
			case "read" -> {
				Path file = dir.resolve("states").resolve(args[2]).resolve("current.json");
				int reads = Integer.parseInt(args[3]);
				int torn = 0;
				int done = 0;
				StorageIo io = new StorageIo();
				while (done < reads) {
					try {
						VersionFormat.read(io, file, args[2], 0, false);
						done++;
					}
					catch (java.nio.file.NoSuchFileException ex) {
						// not created yet
						Thread.onSpinWait();
					}
					catch (CorruptVersionException ex) {
						torn++;
						done++;
						out.println("TORN " + ex.getMessage());
					}
				}
				out.println("READS " + done + " TORN " + torn);
			}
			default -> throw new IllegalArgumentException(args[0]);
		}
		out.flush();
		System.exit(0);
	}

}
