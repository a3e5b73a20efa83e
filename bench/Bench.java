import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * Statekeeper's benchmark harness: one run, one machine, every target driven by this same
 * Java HTTP client. Run from the project root after {@code ./mvnw -B package -DskipTests}:
 *
 * <pre>java bench/Bench.java [--quick]</pre>
 *
 * It measures (1) the durable-replace floor (write temp, fsync, rename, fsync dir) in plain
 * Java per payload size, (2) the service: sequential PUT p50/p99 and the ratio to the floor,
 * GET throughput, writes/s with 1, 4 and 16 clients on distinct states and on one state with
 * If-Match, and (3) the same load against etcd's v3 JSON gateway when {@code etcd} is
 * installed (Debian etcd-server), printing the ratios side by side.
 */
public class Bench {

	static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

	static final Map<String, Integer> SIZES = new LinkedHashMap<>();

	static int iterations = 300;

	static Duration window = Duration.ofSeconds(6);

	public static void main(String[] args) throws Exception {
		boolean quick = Arrays.asList(args).contains("--quick");
		if (quick) {
			iterations = 50;
			window = Duration.ofSeconds(2);
		}
		SIZES.put("1KiB", 1024);
		SIZES.put("100KiB", 100 * 1024);
		SIZES.put("1MiB", 1024 * 1024);
		SIZES.put("10MiB", 10 * 1024 * 1024);
		Path work = Files.createTempDirectory(Path.of("target"), "bench-");
		System.out.printf("machine: %d cores, %s, %s%n", Runtime.getRuntime().availableProcessors(),
				System.getProperty("os.name") + " " + System.getProperty("os.version"), Files.getFileStore(work));
		System.out.printf("method: %d sequential writes per size (p50/p99), throughput windows of %ds%n%n", iterations,
				window.toSeconds());

		Map<String, double[]> floor = new LinkedHashMap<>();
		for (Map.Entry<String, Integer> size : SIZES.entrySet()) {
			floor.put(size.getKey(), floor(work.resolve("floor"), size.getValue()));
		}

		Target statekeeper = Target.statekeeper(work.resolve("statekeeper"));
		Target etcd = Files.isExecutable(Path.of("/usr/bin/etcd")) ? Target.etcd(work.resolve("etcd")) : null;
		try {
			// warm both servers and this client's JIT before measuring anything
			for (Target target : (etcd != null) ? List.of(statekeeper, etcd) : List.of(statekeeper)) {
				throughput(4, (client) -> {
					check(CLIENT.send(target.put("warm-" + client, state(4096, client), null),
							HttpResponse.BodyHandlers.ofByteArray()), target);
					CLIENT.send(target.get("warm-" + client, null), HttpResponse.BodyHandlers.ofByteArray());
					return true;
				});
			}
			System.out.println("== sequential PUT latency (ms)");
			System.out.printf("%-8s %10s %10s | %10s %10s %8s | %10s %10s %8s%n", "size", "floor p50", "floor p99",
					"sk p50", "sk p99", "sk/floor", "etcd p50", "etcd p99", "sk/etcd");
			for (Map.Entry<String, Integer> size : SIZES.entrySet()) {
				double[] f = floor.get(size.getKey());
				double[] s = putLatency(statekeeper, size.getValue());
				double[] e = (etcd != null && size.getValue() <= 1024 * 1024) ? putLatency(etcd, size.getValue())
						: null;
				System.out.printf("%-8s %10.2f %10.2f | %10.2f %10.2f %8.2f | %10s %10s %8s%n", size.getKey(), f[0],
						f[1], s[0], s[1], s[0] / f[0], (e != null) ? String.format("%.2f", e[0]) : "-",
						(e != null) ? String.format("%.2f", e[1]) : "-",
						(e != null) ? String.format("%.2f", s[0] / e[0]) : "-");
			}

			if (Files.isExecutable(Path.of("/usr/bin/wrk"))) {
				System.out.println();
				System.out.println("== sequential PUT latency with wrk (one connection, 5 s; ms)");
				System.out.printf("%-8s %10s %10s %8s | %10s %10s %8s%n", "size", "sk p50", "sk p99", "sk/floor",
						"etcd p50", "etcd p99", "sk/etcd");
				for (Map.Entry<String, Integer> size : SIZES.entrySet()) {
					double[] f = floor.get(size.getKey());
					double[] s = wrkPut(statekeeper, size.getValue(), work);
					double[] e = (etcd != null && size.getValue() <= 1024 * 1024)
							? wrkPut(etcd, size.getValue(), work) : null;
					System.out.printf("%-8s %10.2f %10.2f %8.2f | %10s %10s %8s%n", size.getKey(), s[0], s[1],
							s[0] / f[0], (e != null) ? String.format("%.2f", e[0]) : "-",
							(e != null) ? String.format("%.2f", e[1]) : "-",
							(e != null) ? String.format("%.2f", s[0] / e[0]) : "-");
				}
			}

			System.out.println();
			System.out.println("== GET throughput of a 10 KiB state (req/s)");
			for (int clients : new int[] { 1, 16 }) {
				double s = getThroughput(statekeeper, clients, false);
				double n = getThroughput(statekeeper, clients, true);
				double e = (etcd != null) ? getThroughput(etcd, clients, false) : Double.NaN;
				System.out.printf("%2d clients: statekeeper %8.0f (304: %8.0f)   etcd %8.0f   sk/etcd %.2f%n", clients,
						s, n, e, s / e);
			}

			System.out.println();
			System.out.println("== writes/s, 1 KiB states");
			for (int clients : new int[] { 1, 4, 16 }) {
				double distinct = writeThroughput(statekeeper, clients, false);
				double shared = writeThroughput(statekeeper, clients, true);
				double etcdDistinct = (etcd != null) ? writeThroughput(etcd, clients, false) : Double.NaN;
				System.out.printf(
						"%2d clients: distinct states %7.0f   one state (If-Match) %7.0f   etcd distinct keys %7.0f   sk/etcd %.2f%n",
						clients, distinct, shared, etcdDistinct, distinct / etcdDistinct);
			}
		}
		finally {
			statekeeper.stop();
			if (etcd != null) {
				etcd.stop();
			}
			deleteTree(work);
		}
	}

	// ------------------------------------------------------------------ the floor

	static double[] floor(Path dir, int size) throws IOException {
		Files.createDirectories(dir);
		byte[] body = state(size, 0);
		Path target = dir.resolve("current.json");
		double[] samples = new double[iterations];
		for (int i = 0; i < iterations; i++) {
			long start = System.nanoTime();
			Path temp = dir.resolve(".tmp-" + i);
			try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
				ByteBuffer buffer = ByteBuffer.wrap(body);
				while (buffer.hasRemaining()) {
					channel.write(buffer);
				}
				channel.force(true);
			}
			Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
			try (FileChannel directory = FileChannel.open(dir, StandardOpenOption.READ)) {
				directory.force(true);
			}
			samples[i] = (System.nanoTime() - start) / 1e6;
		}
		return percentiles(samples);
	}

	// ------------------------------------------------------------------ targets

	interface Call {

		HttpResponse<byte[]> send(HttpRequest request) throws IOException, InterruptedException;

	}

	static final class Target {

		final String name;

		final Process process;

		final String base;

		final String authorization;

		Target(String name, Process process, String base, String authorization) {
			this.name = name;
			this.process = process;
			this.base = base;
			this.authorization = authorization;
		}

		static Target statekeeper(Path dir) throws Exception {
			Path jar;
			try (Stream<Path> jars = Files.list(Path.of("target"))) {
				jar = jars.filter((p) -> p.getFileName().toString().matches("statekeeper-.*\\.jar")).findFirst()
					.orElseThrow(() -> new IllegalStateException("run ./mvnw -B package -DskipTests first"));
			}
			int port = freePort();
			int management = freePort();
			Process process = new ProcessBuilder("java", "-Xmx1g", "-jar", jar.toString(),
					"--statekeeper.storage.data-dir=" + dir, "--server.port=" + port,
					"--management.server.port=" + management, "--statekeeper.storage.min-free-space=0",
					"--logging.level.io.statekeeper.state=WARN")
				.redirectErrorStream(true)
				.redirectOutput(dir.resolveSibling("statekeeper.log").toFile())
				.start();
			await("http://127.0.0.1:" + management + "/actuator/health/readiness", process);
			String token = Files.readString(dir.resolve("admin.token")).strip();
			return new Target("statekeeper", process, "http://127.0.0.1:" + port, "Bearer " + token);
		}

		static Target etcd(Path dir) throws Exception {
			int client = freePort();
			int peer = freePort();
			Process process = new ProcessBuilder("etcd", "--data-dir", dir.toString(), "--listen-client-urls",
					"http://127.0.0.1:" + client, "--advertise-client-urls", "http://127.0.0.1:" + client,
					"--listen-peer-urls", "http://127.0.0.1:" + peer, "--initial-advertise-peer-urls",
					"http://127.0.0.1:" + peer, "--initial-cluster", "default=http://127.0.0.1:" + peer,
					"--max-request-bytes", String.valueOf(32 * 1024 * 1024), "--quota-backend-bytes",
					String.valueOf(8L * 1024 * 1024 * 1024), "--log-level", "error")
				.redirectErrorStream(true)
				.redirectOutput(dir.resolveSibling("etcd.log").toFile())
				.start();
			await("http://127.0.0.1:" + client + "/health", process);
			return new Target("etcd", process, "http://127.0.0.1:" + client, null);
		}

		HttpRequest put(String key, byte[] body, String ifMatch) {
			if (this.name.equals("etcd")) {
				String json = "{\"key\":\"" + b64(key.getBytes()) + "\",\"value\":\"" + b64(body) + "\"}";
				return HttpRequest.newBuilder(URI.create(this.base + "/v3/kv/put"))
					.POST(HttpRequest.BodyPublishers.ofString(json))
					.build();
			}
			HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(this.base + "/api/v1/states/" + key))
				.header("Authorization", this.authorization)
				.header("Content-Type", "application/json")
				.PUT(HttpRequest.BodyPublishers.ofByteArray(body));
			if (ifMatch != null) {
				request.header("If-Match", ifMatch);
			}
			return request.build();
		}

		HttpRequest get(String key, String ifNoneMatch) {
			if (this.name.equals("etcd")) {
				return HttpRequest.newBuilder(URI.create(this.base + "/v3/kv/range"))
					.POST(HttpRequest.BodyPublishers.ofString("{\"key\":\"" + b64(key.getBytes()) + "\"}"))
					.build();
			}
			HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(this.base + "/api/v1/states/" + key))
				.header("Authorization", this.authorization);
			if (ifNoneMatch != null) {
				request.header("If-None-Match", ifNoneMatch);
			}
			return request.build();
		}

		void stop() throws InterruptedException {
			this.process.destroy();
			this.process.waitFor();
		}

	}

	// ------------------------------------------------------------------ measurements

	static double[] putLatency(Target target, int size) throws Exception {
		double[] samples = new double[iterations];
		String key = "lat-" + size;
		for (int i = -5; i < iterations; i++) {
			HttpRequest request = target.put(key, state(size, i + 10), null);
			long start = System.nanoTime();
			HttpResponse<byte[]> response = CLIENT.send(request, HttpResponse.BodyHandlers.ofByteArray());
			double ms = (System.nanoTime() - start) / 1e6;
			check(response, target);
			if (i >= 0) {
				samples[i] = ms;
			}
		}
		return percentiles(samples);
	}

	/** PUT latency measured by wrk (a C client that sends each request in one write). */
	static double[] wrkPut(Target target, int size, Path work) throws Exception {
		HttpRequest request = target.put("wrk-" + size, state(size, 3), null);
		byte[] body = target.name.equals("etcd")
				? ("{\"key\":\"" + b64(("wrk-" + size).getBytes()) + "\",\"value\":\"" + b64(state(size, 3)) + "\"}")
					.getBytes(StandardCharsets.UTF_8)
				: state(size, 3);
		Path bodyFile = work.resolve("wrk-body-" + target.name + "-" + size);
		Files.write(bodyFile, body);
		Path script = work.resolve("wrk-" + target.name + "-" + size + ".lua");
		StringBuilder lua = new StringBuilder();
		lua.append("local f = io.open(\"").append(bodyFile.toAbsolutePath()).append("\", \"rb\")\n");
		lua.append("wrk.method = \"").append(request.method()).append("\"\n");
		lua.append("wrk.body = f:read(\"*a\")\nf:close()\n");
		request.headers().map().forEach((name, values) -> lua.append("wrk.headers[\"").append(name).append("\"] = \"")
			.append(values.get(0).replace("\"", "\\\"")).append("\"\n"));
		if (!target.name.equals("etcd")) {
			lua.append("wrk.headers[\"Content-Type\"] = \"application/json\"\n");
		}
		Files.writeString(script, lua);
		Process wrk = new ProcessBuilder("wrk", "-t1", "-c1", "-d5s", "--latency", "-s", script.toString(),
				request.uri().toString())
			.redirectErrorStream(true)
			.start();
		String output = new String(wrk.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
		wrk.waitFor();
		if (output.contains("Non-2xx")) {
			throw new IllegalStateException(target.name + " via wrk: " + output);
		}
		return new double[] { wrkPercentile(output, "50%"), wrkPercentile(output, "99%") };
	}

	static double wrkPercentile(String output, String label) {
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
				return Double.parseDouble(value.replace("s", "")) * 1000;
			}
		}
		throw new IllegalStateException("no " + label + " in wrk output:\n" + output);
	}

	static double getThroughput(Target target, int clients, boolean notModified) throws Exception {
		String key = "get-10k";
		HttpResponse<byte[]> put = CLIENT.send(target.put(key, state(10 * 1024, 1), null),
				HttpResponse.BodyHandlers.ofByteArray());
		check(put, target);
		String etag = put.headers().firstValue("ETag").orElse(null);
		return throughput(clients, (client) -> {
			HttpResponse<byte[]> response = CLIENT.send(target.get(key, notModified ? etag : null),
					HttpResponse.BodyHandlers.ofByteArray());
			if (response.statusCode() != 200 && response.statusCode() != 304) {
				throw new IllegalStateException(target.name + " GET: " + response.statusCode());
			}
			return true;
		});
	}

	static double writeThroughput(Target target, int clients, boolean shared) throws Exception {
		String prefix = "w" + clients + (shared ? "s" : "d");
		if (shared) {
			check(CLIENT.send(target.put(prefix, state(1024, 0), null), HttpResponse.BodyHandlers.ofByteArray()),
					target);
		}
		return throughput(clients, (client) -> {
			if (!shared) {
				check(CLIENT.send(target.put(prefix + "-" + client, state(1024, client), null),
						HttpResponse.BodyHandlers.ofByteArray()), target);
				return true;
			}
			HttpResponse<byte[]> current = CLIENT.send(target.get(prefix, null), HttpResponse.BodyHandlers.ofByteArray());
			String etag = current.headers().firstValue("ETag").orElseThrow();
			HttpResponse<byte[]> response = CLIENT.send(target.put(prefix, state(1024, client), etag),
					HttpResponse.BodyHandlers.ofByteArray());
			return response.statusCode() == 200;
		});
	}

	interface Operation {

		boolean run(int client) throws Exception;

	}

	static double throughput(int clients, Operation operation) throws Exception {
		ExecutorService pool = Executors.newFixedThreadPool(clients);
		AtomicLong done = new AtomicLong();
		long end = System.nanoTime() + window.toNanos();
		List<Future<?>> futures = new ArrayList<>();
		long start = System.nanoTime();
		for (int c = 0; c < clients; c++) {
			int client = c;
			futures.add(pool.submit(() -> {
				while (System.nanoTime() < end) {
					if (operation.run(client)) {
						done.incrementAndGet();
					}
				}
				return null;
			}));
		}
		for (Future<?> future : futures) {
			future.get();
		}
		pool.shutdown();
		return done.get() / ((System.nanoTime() - start) / 1e9);
	}

	// ------------------------------------------------------------------ helpers

	static void check(HttpResponse<byte[]> response, Target target) {
		if (response.statusCode() / 100 != 2) {
			throw new IllegalStateException(target.name + ": " + response.statusCode() + " "
					+ new String(response.body(), StandardCharsets.UTF_8));
		}
	}

	/** A valid state of exactly {@code size} bytes. */
	static byte[] state(int size, int variant) {
		String head = "{\"version\":\"1.0.0\",\"resources\":{},\"metadata\":{\"v\":" + variant + ",\"pad\":\"";
		String tail = "\"}}";
		StringBuilder json = new StringBuilder(size).append(head);
		while (json.length() < size - tail.length()) {
			json.append('x');
		}
		return json.append(tail).toString().getBytes(StandardCharsets.UTF_8);
	}

	static double[] percentiles(double[] samples) {
		double[] sorted = samples.clone();
		Arrays.sort(sorted);
		return new double[] { sorted[sorted.length / 2], sorted[(int) Math.ceil(sorted.length * 0.99) - 1] };
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
			Thread.sleep(100); // polling a child process's start-up, not synchronising tests
		}
		throw new IllegalStateException(url + " did not come up");
	}

	static void deleteTree(Path root) throws IOException {
		try (Stream<Path> walk = Files.walk(root)) {
			for (Path path : walk.sorted((a, b) -> b.compareTo(a)).toList()) {
				Files.deleteIfExists(path);
			}
		}
	}

}
