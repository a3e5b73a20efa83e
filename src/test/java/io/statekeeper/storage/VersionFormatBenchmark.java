package io.statekeeper.storage;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.concurrent.TimeUnit;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import io.statekeeper.SampleStates;

/**
 * JMH: the version format's in-process work, per body size. {@code encode} is what a
 * write does before its first system call (the body's SHA-256 and the header line with
 * its CRC-32C); {@code decode} reads a stored version back from the page cache and
 * verifies it completely (header CRC, size, SHA-256), as a read from disk and start-up
 * recovery do. Run with {@code bench/jmh}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class VersionFormatBenchmark {

	@Param({ "1024", "102400", "1048576", "10485760" })
	int size;

	byte[] body;

	Path dir;

	Path file;

	StorageIo io = new StorageIo();

	FileStateRepository repository;

	@Setup
	public void setUp() throws IOException {
		this.body = SampleStates.of(this.size, 1);
		this.dir = Files.createTempDirectory("statekeeper-jmh-");
		this.repository = StorageTestSupport.open(StorageTestSupport.properties(this.dir), this.io,
				new SimpleMeterRegistry());
		this.repository.write("bench", null, 1, this.body, Instant.now());
		this.file = StorageTestSupport.current(this.dir, "bench");
	}

	@TearDown
	public void tearDown() throws IOException {
		this.repository.close();
		try (var files = Files.walk(this.dir)) {
			for (Path path : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
				Files.delete(path);
			}
		}
	}

	@Benchmark
	public byte[] encode() {
		VersionHeader header = new VersionHeader(VersionFormat.FORMAT, "bench", 2, this.body.length,
				Sha256.hex(this.body), Instant.EPOCH, false);
		return VersionFormat.encodeHeader(header);
	}

	@Benchmark
	public StoredVersion decode() throws Exception {
		return VersionFormat.read(this.io, this.file, "bench", 1, true);
	}

}
