package bench;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static bench.Bench.*;
import static bench.BareServer.*;
import static bench.Compare.*;
import static bench.Http.*;
import static bench.Memory.*;
import static bench.Target.*;

/**
 * The floor: the durable replace (write temp, fsync, rename, fsync dir) in plain Java, the
 * least any service keeping the recipe pays on this machine; and the CPU-time helpers.
 */
final class Floor {

	private Floor() {
	}

	/** Each round's share of the seconds per figure, at least two. */
	static int roundSeconds() {
		return Math.max(2, (seconds + ROUNDS - 1) / ROUNDS);
	}

	/** One column of the rows, sorted. */
	static double[] column(double[][] rows, int index) {
		return Arrays.stream(rows).mapToDouble((row) -> row[index]).sorted().toArray();
	}

	static double median(double[] sorted) {
		return sorted[sorted.length / 2];
	}

	static double[] floor(Path dir, byte[] body, int iterations) throws IOException {
		Files.createDirectories(dir);
		double[] samples = new double[iterations];
		for (int i = 0; i < iterations; i++) {
			long start = System.nanoTime();
			replace(dir, i, ByteBuffer.wrap(body));
			samples[i] = (System.nanoTime() - start) / 1e6;
		}
		Arrays.sort(samples);
		return new double[] { samples[samples.length / 2], samples[(int) Math.ceil(samples.length * 0.99) - 1] };
	}

	/**
	 * The floor's throughput: {@code threads} threads, each replacing its own file in its
	 * own directory (as distinct states are) as fast as the recipe allows, for
	 * {@code seconds} after one second of the same. Returns replaces/s and this process's
	 * CPU time per replace (ms): what the recipe alone costs, with no HTTP, no validation
	 * and no history.
	 */
	static double[] floorRate(Path dir, byte[] body, int threads, int seconds) throws Exception {
		AtomicLong replaces = new AtomicLong();
		AtomicBoolean stop = new AtomicBoolean();
		ExecutorService writers = Executors.newFixedThreadPool(threads);
		try {
			List<Future<?>> running = new ArrayList<>();
			for (int t = 0; t < threads; t++) {
				Path own = Files.createDirectories(dir.resolve("t" + t));
				running.add(writers.submit(() -> {
					for (long i = 0; !stop.get(); i++) {
						replace(own, i, ByteBuffer.wrap(body));
						replaces.incrementAndGet();
					}
					return null;
				}));
			}
			Thread.sleep(1000);
			long before = replaces.get();
			Duration cpuBefore = cpu(ProcessHandle.current());
			long start = System.nanoTime();
			Thread.sleep(seconds * 1000L);
			long count = replaces.get() - before;
			Duration cpu = cpu(ProcessHandle.current()).minus(cpuBefore);
			double elapsed = (System.nanoTime() - start) / 1e9;
			stop.set(true);
			for (Future<?> writer : running) {
				writer.get();
			}
			return new double[] { count / elapsed, cpu.toNanos() / 1e6 / count };
		}
		finally {
			writers.shutdown();
		}
	}

	/**
	 * CPU time a process has used so far, user and system, all its threads (the kernel's
	 * count, in 10 ms ticks: read over runs of thousands of requests).
	 */
	static Duration cpu(ProcessHandle process) {
		return process.info()
			.totalCpuDuration()
			.orElseThrow(() -> new IllegalStateException("no CPU time for process " + process.pid()));
	}

	/** The recipe, nothing of ours: write a temp file, fsync, rename, fsync the directory. */
	static void replace(Path dir, Object name, ByteBuffer buffer) throws IOException {
		Path temp = dir.resolve(".tmp-" + name);
		try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
			while (buffer.hasRemaining()) {
				channel.write(buffer);
			}
			channel.force(true);
		}
		Files.move(temp, dir.resolve("current.json"), StandardCopyOption.ATOMIC_MOVE);
		try (FileChannel directory = FileChannel.open(dir, StandardOpenOption.READ)) {
			directory.force(true);
		}
	}

}
