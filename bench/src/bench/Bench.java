package bench;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import io.statekeeper.SampleStates;

import static bench.BareServer.*;
import static bench.Compare.*;
import static bench.Floor.*;
import static bench.Http.*;
import static bench.Memory.*;
import static bench.Target.*;

/**
 * Statekeeper's benchmark harness: one run, one machine, every target driven by the same
 * load generator (wrk, with the same Lua scripts for statekeeper and etcd). Run from the
 * project root after {@code ./mvnw -B package -DskipTests}:
 *
 * <pre>bench/run [--quick] [--no-memory | --memory-only]
 * bench/run --ab before.jar after.jar [--size 1MiB] [--pairs 20]</pre>
 *
 * It measures (1) the durable-replace floor (write temp, fsync, rename, fsync dir) in plain
 * Java, right before each size is measured on the service, (2) the service jar: sequential
 * PUT p50/p99 and the ratio to the floor, GET throughput of a 10 KiB state (200 and 304),
 * writes/s with 1, 4 and 16 clients on distinct states and on one state with If-Match,
 * (3) the same against etcd's v3 JSON gateway when {@code etcd} is installed (Debian
 * etcd-server), and (4) memory: 1,000 states of 100 KiB in a 512 MiB heap, the heap a
 * 32 MiB PUT needs, and start-up verifying 1 GiB of states. Bodies are realistic states
 * built by the tests' {@code SampleStates} (hence {@code -cp target/test-classes}): one
 * JSON object per resource.
 *
 * <p>
 * Where is what: this class reads the options and holds the shared helpers;
 * {@link Floor} is the floor, {@link BareServer} the bare server, {@link Target} the
 * targets under load (service jar, bare server, etcd) and their wrk runs, {@link Http}
 * and {@link Memory} the figures, {@link Compare} the A/B comparison.
 */
public class Bench {

	static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

	static final Map<String, Integer> SIZES = new LinkedHashMap<>();

	static int floorIterations = 300;

	static int seconds = 8;

	static int warmSeconds = 20;

	/** Warm-up ends with a round that spent less than this share of its time compiling. */
	static final double JIT_QUIET = 0.03;

	static int warmRoundsMax = 8;

	/** The PUT latencies are measured in this many interleaved rounds. */
	static final int ROUNDS = 3;

	static Path work;

	public static void main(String[] args) throws Exception {
		List<String> options = Arrays.asList(args);
		if (options.contains("--bare")) {
			bare(Path.of(args[1]), Integer.parseInt(args[2]));
			return;
		}
		boolean quick = options.contains("--quick");
		if (quick) {
			floorIterations = 50;
			seconds = 2;
			warmSeconds = 4;
			warmRoundsMax = 1;
		}
		if (!Files.isExecutable(Path.of("/usr/bin/wrk"))) {
			throw new IllegalStateException("the harness drives every target with wrk: apt-get install wrk");
		}
		SIZES.put("1KiB", 1024);
		SIZES.put("100KiB", 100 * 1024);
		SIZES.put("1MiB", 1024 * 1024);
		SIZES.put("10MiB", 10 * 1024 * 1024);
		work = Files.createTempDirectory(Path.of("target"), "bench-").toAbsolutePath();
		System.out.printf("machine: %d cores, %s, %s; java %s%n", Runtime.getRuntime().availableProcessors(),
				System.getProperty("os.name") + " " + System.getProperty("os.version"), Files.getFileStore(work),
				System.getProperty("java.version"));
		System.out.printf("method: wrk, %d s per figure after at least %d s of warm-up per target, until its JIT "
				+ "is quiet; PUT latency in %d rounds of %d durable replaces (the floor), then %d s on each target%n%n",
				seconds, warmSeconds, ROUNDS, floorIterations / ROUNDS, roundSeconds());
		try {
			int ab = options.indexOf("--ab");
			if (ab >= 0) {
				int size = options.contains("--size") ? SIZES.get(args[options.indexOf("--size") + 1]) : 1024;
				int pairs = options.contains("--pairs") ? Integer.parseInt(args[options.indexOf("--pairs") + 1]) : 10;
				if (pairs < 2 || pairs % 2 != 0) {
					throw new IllegalArgumentException("--pairs takes an even number (half in each order)");
				}
				compare(Path.of(args[ab + 1]), Path.of(args[ab + 2]), size, pairs);
				return;
			}
			if (options.contains("--postgresql")) {
				Postgres.postgresql();
				return;
			}
			if (!options.contains("--memory-only")) {
				http();
			}
			if (!options.contains("--no-memory") && !quick) {
				memory();
			}
		}
		finally {
			deleteTree(work);
		}
	}

	// ------------------------------------------------------------------ helpers

	static String etcdPut(String key, String value) {
		return "{\"key\":\"" + key + "\",\"value\":\"" + value + "\"}";
	}

	static double number(String output, String regex) {
		Matcher matcher = Pattern.compile(regex).matcher(output);
		if (!matcher.find()) {
			throw new IllegalStateException("no " + regex + " in wrk output:\n" + output);
		}
		return Double.parseDouble(matcher.group(1));
	}

	static double durationOf(String output) {
		Matcher matcher = Pattern.compile("requests in ([0-9.]+)(ms|s|m)").matcher(output);
		if (!matcher.find()) {
			throw new IllegalStateException("no duration in wrk output:\n" + output);
		}
		double value = Double.parseDouble(matcher.group(1));
		return switch (matcher.group(2)) {
			case "ms" -> value / 1000;
			case "m" -> value * 60;
			default -> value;
		};
	}

	/** A latency percentile from wrk's --latency table, in ms. */
	static double percentile(String output, String label) {
		for (String line : output.split("\n")) {
			String trimmed = line.strip();
			if (trimmed.startsWith(label)) {
				String value = trimmed.substring(label.length()).strip();
				if (value.endsWith("us")) {
					return Double.parseDouble(value.replace("us", "")) / 1000;
				}
				if (value.endsWith("ms")) {
					return Double.parseDouble(value.replace("ms", ""));
				}
				if (value.endsWith("m")) {
					return Double.parseDouble(value.replace("m", "")) * 60_000;
				}
				return Double.parseDouble(value.replace("s", "")) * 1000;
			}
		}
		throw new IllegalStateException("no " + label + " in wrk output:\n" + output);
	}

	/** A valid state of exactly {@code size} bytes, shaped like a real CLI's. */
	static byte[] state(int size, int generation) {
		return SampleStates.of(size, generation);
	}

	static String b64(byte[] bytes) {
		return Base64.getEncoder().encodeToString(bytes);
	}

	static int freePort() throws IOException {
		try (ServerSocket socket = new ServerSocket(0)) {
			return socket.getLocalPort();
		}
	}

	static void await(String url, Process process) throws Exception {
		long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
		while (System.nanoTime() < deadline) {
			if (!process.isAlive()) {
				throw new IllegalStateException(url + ": process exited with " + process.exitValue());
			}
			try {
				if (CLIENT.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.discarding())
					.statusCode() == 200) {
					return;
				}
			}
			catch (IOException ex) {
				// not listening yet
			}
			Thread.sleep(50); // polling a child process's start-up, not synchronising tests
		}
		throw new IllegalStateException(url + " did not come up");
	}

	static void deleteTree(Path root) throws IOException {
		if (!Files.exists(root)) {
			return;
		}
		try (Stream<Path> walk = Files.walk(root)) {
			for (Path path : walk.sorted((a, b) -> b.compareTo(a)).toList()) {
				Files.deleteIfExists(path);
			}
		}
	}

}
