package io.statekeeper.state;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

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
import org.openjdk.jmh.annotations.Warmup;

import org.springframework.util.unit.DataSize;

import io.statekeeper.SampleStates;
import io.statekeeper.storage.StorageProperties;

/**
 * JMH: validating a state body (one streaming pass, no tree), per body size, with the
 * strict scanner's fast path ({@code fastPath=true}, what the service does) and with
 * Jackson alone. Run with {@code bench/jmh} (see {@code bench/README.md}).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class StateValidatorBenchmark {

	@Param({ "1024", "102400", "1048576", "10485760" })
	int size;

	@Param({ "true", "false" })
	boolean fastPath;

	byte[] body;

	StateValidator validator;

	@Setup
	public void setUp() {
		this.body = SampleStates.of(this.size, 1);
		this.validator = new StateValidator(
				new StorageProperties(Path.of("unused"), 5, DataSize.ofMegabytes(32), DataSize.ofBytes(0),
						Duration.ofSeconds(10), StorageProperties.OnCorruption.HOLD, null, StorageProperties.Type.FILE),
				this.fastPath);
	}

	@Benchmark
	public byte[] validate() {
		this.validator.validate(this.body);
		return this.body;
	}

}
