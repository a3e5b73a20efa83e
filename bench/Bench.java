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
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import io.statekeeper.SampleStates;

/**
 * Statekeeper's benchmark harness: one run, one machine, every target driven by the same
 * load generator (wrk, with the same Lua scripts for statekeeper and etcd). Run from the
 * project root after {@code ./mvnw -B package -DskipTests}:
 *
 * <pre>java -cp target/test-classes bench/Bench.java [--quick] [--no-memory | --memory-only]
 * java -cp target/test-classes bench/Bench.java --ab before.jar after.jar [--size 1MiB] [--pairs 20]</pre>
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

	// ------------------------------------------------------------------ HTTP

	static void http() throws Exception {
		Target statekeeper = Target.statekeeper(work.resolve("statekeeper"), "-Xmx1g");
		Target bare = Target.bare(work.resolve("bare"));
		Target etcd = Files.isExecutable(Path.of("/usr/bin/etcd")) ? Target.etcd(work.resolve("etcd")) : null;
		List<Target> targets = (etcd != null) ? List.of(statekeeper, bare, etcd) : List.of(statekeeper, bare);
		try {
			for (Target target : targets) {
				// etcd never gets 10 MiB (it keeps every revision), as in the rounds below
				warm(target, target.etcd() ? List.of(1024, 100 * 1024, 1024 * 1024)
						: List.of(1024, 100 * 1024, 1024 * 1024, 10 * 1024 * 1024), target != bare);
			}

			System.out.println("== sequential PUT latency, one client (ms): medians of " + ROUNDS
					+ " interleaved rounds; bare: the floor's recipe behind a bare HTTP server");
			System.out.printf("%-8s %9s %9s %9s | %9s %9s %8s %13s %8s | %9s %9s %8s | %s%n", "size", "floor p50",
					"floor p99", "bare p50", "sk p50", "sk p99", "sk/floor", "(rounds)", "sk/bare", "etcd p50", "etcd p99",
					"sk/etcd", "CPU per PUT (ms): bare, sk");
			for (Map.Entry<String, Integer> size : SIZES.entrySet()) {
				byte[] body = state(size.getValue(), 2);
				boolean withEtcd = etcd != null && size.getValue() <= 1024 * 1024;
				Path serviceScript = statekeeper.putScript("lat-" + size.getKey(), body, false);
				Path bareScript = bare.putScript("lat-" + size.getKey(), body, false);
				Path etcdScript = withEtcd ? etcd.putScript("lat-" + size.getKey(), body, false) : null;
				double[][] rounds = new double[ROUNDS][];
				for (int round = 0; round < ROUNDS; round++) {
					// floor, bare, service and etcd one after the other, round after round,
					// so that each ratio compares runs seconds apart on the same disk
					double[] f = floor(work.resolve("floor"), body, floorIterations / ROUNDS);
					Wrk b = bare.wrk(bareScript, 1, roundSeconds());
					Wrk s = statekeeper.wrk(serviceScript, 1, roundSeconds());
					Wrk e = withEtcd ? etcd.wrk(etcdScript, 1, roundSeconds()) : null;
					rounds[round] = new double[] { f[0], f[1], s.p50, s.p99, s.p50 / f[0],
							(e != null) ? e.p50 : Double.NaN, (e != null) ? e.p99 : Double.NaN,
							(e != null) ? s.p50 / e.p50 : Double.NaN, b.p50, s.p50 / b.p50, b.cpuPerRequest,
							s.cpuPerRequest };
				}
				double[] ratios = column(rounds, 4);
				System.out.printf("%-8s %9.2f %9.2f %9.2f | %9.2f %9.2f %8.2f %13s %8.2f | %9s %9s %8s | %.2f, %.2f%n",
						size.getKey(),
						median(column(rounds, 0)), median(column(rounds, 1)), median(column(rounds, 8)),
						median(column(rounds, 2)), median(column(rounds, 3)), median(ratios),
						String.format("(%.2f-%.2f)", ratios[0], ratios[ratios.length - 1]), median(column(rounds, 9)),
						withEtcd ? String.format("%.2f", median(column(rounds, 5))) : "-",
						withEtcd ? String.format("%.2f", median(column(rounds, 6))) : "-",
						withEtcd ? String.format("%.2f", median(column(rounds, 7))) : "-", median(column(rounds, 10)),
						median(column(rounds, 11)));
			}

			System.out.println();
			System.out.println("== GET throughput of a 10 KiB state (req/s)");
			String etag = statekeeper.seed("get-10k", state(10 * 1024, 3));
			if (etcd != null) {
				etcd.seed("get-10k", state(10 * 1024, 3));
			}
			for (int clients : new int[] { 1, 16 }) {
				Wrk s = statekeeper.wrk(statekeeper.getScript("get-10k", null), clients, seconds);
				Wrk n = statekeeper.wrk(statekeeper.getScript("get-10k", etag), clients, seconds);
				Wrk e = (etcd != null) ? etcd.wrk(etcd.getScript("get-10k", null), clients, seconds) : null;
				System.out.printf("%2d clients: statekeeper %8.0f (304: %8.0f)   etcd %8s   sk/etcd %s%n", clients,
						s.rate, n.rate, (e != null) ? String.format("%.0f", e.rate) : "-",
						(e != null) ? String.format("%.2f", s.rate / e.rate) : "-");
			}

			System.out.println();
			System.out.println("== writes/s, 1 KiB states; floor: the recipe alone in plain Java, a directory per "
					+ "thread; bare: the recipe behind a bare HTTP server");
			System.out.printf("%-7s %7s %7s %8s %9s %7s | %8s %8s %9s | %s%n", "clients", "floor", "bare", "distinct",
					"If-Match", "etcd", "sk/bare", "sk/etcd", "bare/etcd", "CPU per write (ms): floor, bare, sk, etcd");
			byte[] small = state(1024, 4);
			for (int clients : new int[] { 1, 4, 16 }) {
				double[] floor = floorRate(work.resolve("floor-rate-" + clients), small, clients, seconds);
				Wrk b = bare.wrk(bare.putScript("w" + clients, small, true), clients, seconds);
				Wrk distinct = statekeeper.wrk(statekeeper.putScript("w" + clients, small, true), clients, seconds);
				statekeeper.seed("shared" + clients, small);
				Wrk shared = statekeeper.wrk(statekeeper.ifMatchScript("shared" + clients, small), clients, seconds);
				Wrk e = (etcd != null) ? etcd.wrk(etcd.putScript("w" + clients, small, true), clients, seconds) : null;
				System.out.printf("%-7d %7.0f %7.0f %8.0f %9.0f %7s | %8.2f %8s %9s | %.2f, %.2f, %.2f, %s%n", clients,
						floor[0], b.rate, distinct.rate, shared.okRate, (e != null) ? String.format("%.0f", e.rate) : "-",
						distinct.rate / b.rate, (e != null) ? String.format("%.2f", distinct.rate / e.rate) : "-",
						(e != null) ? String.format("%.2f", b.rate / e.rate) : "-", floor[1], b.cpuPerRequest,
						distinct.cpuPerRequest, (e != null) ? String.format("%.2f", e.cpuPerRequest) : "-");
			}
		}
		finally {
			for (Target target : targets) {
				target.stop();
			}
		}
	}

	/**
	 * Warms a target up until its JIT is done: rounds of the load that is measured next
	 * (PUTs of each size, distinct 1 KiB states on two connections, GETs), at least
	 * {@link #warmSeconds}, then more rounds until one spends less than
	 * {@link #JIT_QUIET} of its time compiling (at most {@link #warmRoundsMax}). On
	 * two cores a C2 thread still at work takes most of a core from the server and the
	 * client: after a fixed 20 s of PUTs it still compiled for a third of the next 10 s,
	 * and a 100 KiB PUT's p50 went from 2.6 to 2.1 ms over the next 30 s. Measured
	 * figures are of the service as it runs for hours, not of its first minute; the
	 * warm-up line says how long that took.
	 */
	static void warm(Target target, List<Integer> sizes, boolean gets) throws Exception {
		long start = System.nanoTime();
		// the scripts (and their bodies, up to 10 MiB) are written once, not every round
		Path distinct = target.putScript("warm", state(1024, 1), true);
		List<Path> sequential = new ArrayList<>();
		for (int size : sizes) {
			sequential.add(target.putScript("warm-" + size, state(size, 1), false));
		}
		Path get = null;
		if (gets) {
			target.seed("warm-get", state(10 * 1024, 1));
			get = target.getScript("warm-get", null);
		}
		int perStep = Math.max(1, warmSeconds / 6);
		double share = Double.NaN;
		int rounds = 0;
		while (rounds < warmRoundsMax) {
			double compiledBefore = target.reportsCompilation() ? target.compilationMillis() : 0;
			long roundStart = System.nanoTime();
			target.wrk(distinct, 2, perStep);
			for (Path script : sequential) {
				target.wrk(script, 1, perStep);
			}
			if (get != null) {
				target.wrk(get, 2, perStep);
			}
			rounds++;
			double roundMillis = (System.nanoTime() - roundStart) / 1e6;
			share = target.reportsCompilation() ? (target.compilationMillis() - compiledBefore) / roundMillis : 0;
			boolean longEnough = (System.nanoTime() - start) / 1e9 >= warmSeconds;
			if (longEnough && share < JIT_QUIET) {
				break;
			}
		}
		System.out.printf("warm-up: %s %.0f s in %d rounds%s%n", target.name, (System.nanoTime() - start) / 1e9, rounds,
				target.reportsCompilation()
						? String.format("; the last round compiled for %.1f%% of its time", share * 100) : "");
	}

	// ------------------------------------------------------------------ A/B

	/**
	 * Two builds side by side, on the same disk at the same time: pairs (ten, or
	 * {@code --pairs}) of alternating runs of sequential PUTs (1 KiB, or
	 * {@code --size 10MiB} …), in both orders. The only way
	 * found to judge a change smaller than the disk's minute-to-minute variation.
	 */
	static void compare(Path before, Path after, int size, int pairs) throws Exception {
		Target a = Target.statekeeper(work.resolve("a"), "-Xmx1g", before);
		Target b = null;
		try {
			b = Target.statekeeper(work.resolve("b"), "-Xmx1g", after);
			byte[] body = state(size, 5);
			for (Target target : List.of(a, b)) {
				warm(target, List.of(size), false);
			}
			Path scriptA = a.putScript("ab", body, false);
			Path scriptB = b.putScript("ab", body, false);
			int wins = 0;
			int cpuWins = 0;
			System.out.printf("sequential %d-byte PUTs, %d s runs: p50 (ms) and the service's CPU per PUT (ms)%n"
					+ "%21s %21s%n", size, Math.max(seconds / 2, 2), before.getFileName(), after.getFileName());
			for (int i = 0; i < pairs; i++) {
				boolean afterFirst = i >= pairs / 2;
				int runSeconds = Math.max(seconds / 2, 2);
				Wrk ra;
				Wrk rb;
				if (afterFirst) {
					rb = b.wrk(scriptB, 1, runSeconds);
					ra = a.wrk(scriptA, 1, runSeconds);
				}
				else {
					ra = a.wrk(scriptA, 1, runSeconds);
					rb = b.wrk(scriptB, 1, runSeconds);
				}
				wins += (rb.p50 < ra.p50) ? 1 : 0;
				cpuWins += (rb.cpuPerRequest < ra.cpuPerRequest) ? 1 : 0;
				System.out.printf("%10.2f %10.3f %10.2f %10.3f%n", ra.p50, ra.cpuPerRequest, rb.p50, rb.cpuPerRequest);
			}
			System.out.printf(
					"%s had the lower p50 in %d of %d pairs (sign test p = %.2f), the lower CPU per PUT in %d (p = %.2f)%n",
					after.getFileName(), wins, pairs, signTest(wins, pairs), cpuWins, signTest(cpuWins, pairs));
		}
		finally {
			a.stop();
			if (b != null) {
				b.stop();
			}
		}
	}

	/**
	 * Two-sided sign test: how likely a split at least this uneven is when neither build
	 * is faster (each pair a fair coin).
	 */
	static double signTest(int wins, int pairs) {
		int extreme = Math.min(wins, pairs - wins);
		double tail = 0;
		double ways = 1;
		for (int k = 0; k <= extreme; k++) {
			tail += ways;
			ways = ways * (pairs - k) / (k + 1);
		}
		return Math.min(1, 2 * tail / Math.pow(2, pairs));
	}

	// ------------------------------------------------------------------ memory

	static void memory() throws Exception {
		System.out.println();
		System.out.println("== memory");
		// 1,000 states of 100 KiB, served from a 512 MiB heap, before and after a restart
		Path dir = work.resolve("thousand");
		Target service = Target.statekeeper(dir, "-Xmx512m");
		try {
			writeMany(service, 1000, 100 * 1024);
			readMany(service, 1000, 100 * 1024);
			System.out.printf("1,000 x 100 KiB, -Xmx512m: stored and served; live heap after a full GC %d MiB%n",
					service.liveHeapMiB());
		}
		finally {
			service.stop();
		}
		long start = System.nanoTime();
		service = Target.statekeeper(dir, "-Xmx512m");
		try {
			double startUp = (System.nanoTime() - start) / 1e9;
			readMany(service, 1000, 100 * 1024);
			System.out.printf("  after a restart with -Xmx512m: ready in %.1f s, all 1,000 served; live heap %d MiB%n",
					startUp, service.liveHeapMiB());
		}
		finally {
			service.stop();
		}

		crowd();

		// the smallest heap a 32 MiB PUT (and GET) succeeds in, against an idle service's
		int idle = smallestHeap(1024);
		int large = smallestHeap(32 * 1024 * 1024);
		System.out.printf("32 MiB PUT: smallest -Xmx for an idle service %d MiB, for 32 MiB PUTs and GETs %d MiB: "
				+ "%d MiB more, %.1fx the body%n", idle, large, large - idle, (large - idle) / 32.0);

		// start-up verifying 1 GiB of states (1,024 x 1 MiB)
		Path big = work.resolve("gib");
		Path empty = work.resolve("empty");
		service = Target.statekeeper(big, "-Xmx3g");
		try {
			writeMany(service, 1024, 1024 * 1024);
		}
		finally {
			service.stop();
		}
		Target.statekeeper(empty, "-Xmx3g").stop();
		boolean cold = dropCaches();
		double emptyStart = timeStart(empty);
		cold = dropCaches() && cold;
		double fullStart = timeStart(big);
		System.out.printf("start-up verifying 1 GiB (1,024 x 1 MiB, %s page cache): ready in %.1f s "
				+ "(an empty store: %.1f s)%n", cold ? "cold" : "warm", fullStart, emptyStart);
	}

	/**
	 * Eight clients PUT 30 MiB states at once into a 512 MiB heap, three times over: each
	 * PUT is stored or refused with 503 (max-body-memory), none fails, and what is stored
	 * reads back.
	 */
	static void crowd() throws Exception {
		int clients = 8;
		int size = 30 * 1024 * 1024;
		Target service = Target.statekeeper(work.resolve("crowd"), "-Xmx512m");
		java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(clients);
		try {
			Map<Integer, Integer> statuses = new java.util.TreeMap<>();
			byte[][] stored = new byte[clients][];
			for (int round = 0; round < 3; round++) {
				List<java.util.concurrent.Future<Integer>> puts = new ArrayList<>();
				byte[][] bodies = new byte[clients][];
				for (int i = 0; i < clients; i++) {
					bodies[i] = state(size, round * clients + i);
					HttpRequest put = service.put("crowd-" + i, bodies[i]);
					puts.add(pool.submit(() -> CLIENT.send(put, HttpResponse.BodyHandlers.discarding()).statusCode()));
				}
				for (int i = 0; i < clients; i++) {
					int status = puts.get(i).get();
					statuses.merge(status, 1, Integer::sum);
					if (status / 100 == 2) {
						stored[i] = bodies[i];
					}
				}
			}
			int readBack = 0;
			for (int i = 0; i < clients; i++) {
				HttpResponse<byte[]> got = CLIENT.send(service.get("crowd-" + i), HttpResponse.BodyHandlers.ofByteArray());
				if ((stored[i] == null) ? got.statusCode() == 404 : Arrays.equals(got.body(), stored[i])) {
					readBack++;
				}
			}
			System.out.printf("%d clients x 30 MiB PUTs at once, -Xmx512m, 3 rounds: status %s; %d of %d states read "
					+ "back as last stored; direct buffers %d MiB; live heap %d MiB%n", clients, statuses, readBack,
					clients, service.directMiB(), service.liveHeapMiB());
		}
		finally {
			pool.shutdown();
			service.stop();
			deleteTree(work.resolve("crowd"));
		}
	}

	static double timeStart(Path dir) throws Exception {
		long start = System.nanoTime();
		Target service = Target.statekeeper(dir, "-Xmx3g");
		double elapsed = (System.nanoTime() - start) / 1e9;
		service.stop();
		return elapsed;
	}

	static boolean dropCaches() {
		try {
			new ProcessBuilder("sync").start().waitFor();
			Files.writeString(Path.of("/proc/sys/vm/drop_caches"), "3");
			return true;
		}
		catch (Exception ex) {
			return false;
		}
	}

	static int smallestHeap(int size) throws Exception {
		int low = 16;
		int high = 512;
		while (high - low > 8) {
			int mid = (low + high) / 2;
			if (survives(mid, size)) {
				high = mid;
			}
			else {
				low = mid;
			}
		}
		return high;
	}

	static boolean survives(int heapMiB, int size) throws Exception {
		Path dir = work.resolve("heap-" + heapMiB + "-" + size);
		Target service;
		try {
			service = Target.statekeeper(dir, "-Xmx" + heapMiB + "m");
		}
		catch (IllegalStateException ex) {
			return false;
		}
		try {
			for (int i = 0; i < 3; i++) {
				byte[] body = state(size, i);
				if (CLIENT.send(service.put("big", body), HttpResponse.BodyHandlers.discarding()).statusCode() / 100 != 2) {
					return false;
				}
				HttpResponse<byte[]> got = CLIENT.send(service.get("big"), HttpResponse.BodyHandlers.ofByteArray());
				if (got.statusCode() != 200 || !Arrays.equals(got.body(), body)) {
					return false;
				}
			}
			return service.process.isAlive();
		}
		catch (IOException ex) {
			return false;
		}
		finally {
			service.stop();
			deleteTree(dir);
		}
	}

	static void writeMany(Target service, int count, int size) throws Exception {
		parallel(count, (i) -> {
			HttpResponse<Void> response = CLIENT.send(service.put("s" + i, state(size, i)),
					HttpResponse.BodyHandlers.discarding());
			if (response.statusCode() / 100 != 2) {
				throw new IllegalStateException("PUT s" + i + ": " + response.statusCode());
			}
		});
	}

	static void readMany(Target service, int count, int size) throws Exception {
		parallel(count, (i) -> {
			HttpResponse<byte[]> response = CLIENT.send(service.get("s" + i), HttpResponse.BodyHandlers.ofByteArray());
			if (response.statusCode() != 200 || !Arrays.equals(response.body(), state(size, i))) {
				throw new IllegalStateException("GET s" + i + ": " + response.statusCode());
			}
		});
	}

	interface Task {

		void run(int index) throws Exception;

	}

	static void parallel(int count, Task task) throws Exception {
		ExecutorService pool = Executors.newFixedThreadPool(4);
		try {
			List<Future<?>> futures = new ArrayList<>();
			for (int i = 0; i < count; i++) {
				int index = i;
				futures.add(pool.submit(() -> {
					task.run(index);
					return null;
				}));
			}
			for (Future<?> future : futures) {
				future.get();
			}
		}
		finally {
			pool.shutdown();
		}
	}

	// ------------------------------------------------------------------ the floor

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

	/**
	 * The recipe behind HTTP and nothing else (run as {@code --bare dir port}, a process
	 * of its own): a thread per connection reads a request's head and its
	 * {@code Content-Length} bytes, a PUT replaces {@code dir/<path>/current.json} with
	 * the body by {@link #replace}, and the answer is an empty 200. No validation, no
	 * checksum, no read-back, no history, no authentication: what any HTTP service that
	 * keeps the recipe pays at least, on this machine.
	 */
	static void bare(Path root, int port) throws IOException {
		try (ServerSocket server = new ServerSocket(port, 64, java.net.InetAddress.getLoopbackAddress())) {
			while (true) {
				java.net.Socket socket = server.accept();
				Thread connection = new Thread(() -> serve(socket, root));
				connection.setDaemon(true);
				connection.start();
			}
		}
	}

	private static void serve(java.net.Socket socket, Path root) {
		byte[] ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
		Map<String, Path> directories = new java.util.HashMap<>();
		String prefix = Thread.currentThread().getId() + "-";
		try (socket; java.io.InputStream in = new java.io.BufferedInputStream(socket.getInputStream(), 64 * 1024)) {
			socket.setTcpNoDelay(true);
			byte[] body = new byte[0];
			for (long n = 0;; n++) {
				String requestLine = line(in);
				if (requestLine == null) {
					return;
				}
				int length = 0;
				for (String header = line(in); header != null && !header.isEmpty(); header = line(in)) {
					if (header.regionMatches(true, 0, "Content-Length:", 0, 15)) {
						length = Integer.parseInt(header.substring(15).strip());
					}
				}
				if (body.length < length) {
					body = new byte[length];
				}
				if (in.readNBytes(body, 0, length) < length) {
					return;
				}
				if (requestLine.startsWith("PUT ")) {
					String path = requestLine.split(" ")[1];
					Path directory = directories.get(path);
					if (directory == null) {
						directory = Files.createDirectories(root.resolve(path.substring(path.lastIndexOf('/') + 1)));
						directories.put(path, directory);
					}
					replace(directory, prefix + n, ByteBuffer.wrap(body, 0, length));
				}
				socket.getOutputStream().write(ok);
			}
		}
		catch (IOException ex) {
			// the client went away
		}
	}

	/** One line of a request's head, without its CRLF; null at the end of the stream. */
	private static String line(java.io.InputStream in) throws IOException {
		StringBuilder line = new StringBuilder();
		for (int b = in.read(); b != '\n'; b = in.read()) {
			if (b < 0) {
				return null;
			}
			if (b != '\r') {
				line.append((char) b);
			}
		}
		return line.toString();
	}

	// ------------------------------------------------------------------ targets

	/**
	 * One wrk run: requests/s, successful requests/s, latency percentiles (ms), and the
	 * target process's CPU time per request (ms; user and system, all its threads).
	 */
	record Wrk(double rate, double okRate, double p50, double p99, double cpuPerRequest) {
	}

	static final class Target {

		final String name;

		final Process process;

		final String base;

		final String authorization;

		final int management;

		/**
		 * Numbers the files scripts are written to, over all targets: two builds of the
		 * service (--ab) share a name, and a script holds its target's token.
		 */
		static final AtomicInteger FILES = new AtomicInteger();

		Target(String name, Process process, String base, String authorization, int management) {
			this.name = name;
			this.process = process;
			this.base = base;
			this.authorization = authorization;
			this.management = management;
		}

		boolean etcd() {
			return this.name.equals("etcd");
		}

		/** The service reports its JIT's compilation time; etcd and the bare server don't. */
		boolean reportsCompilation() {
			return this.management != 0;
		}

		static Target statekeeper(Path dir, String heap) throws Exception {
			try (Stream<Path> jars = Files.list(Path.of("target"))) {
				return statekeeper(dir, heap,
						jars.filter((p) -> p.getFileName().toString().matches("statekeeper-.*\\.jar"))
							.findFirst()
							.orElseThrow(() -> new IllegalStateException("run ./mvnw -B package -DskipTests first")));
			}
		}

		static Target statekeeper(Path dir, String heap, Path jar) throws Exception {
			int port = freePort();
			int management = freePort();
			Process process = new ProcessBuilder("java", heap, "-jar", jar.toString(),
					"--statekeeper.storage.data-dir=" + dir, "--server.port=" + port,
					"--management.server.port=" + management, "--statekeeper.storage.min-free-space=0")
				.redirectErrorStream(true)
				.redirectOutput(dir.resolveSibling(dir.getFileName() + ".log").toFile())
				.start();
			try {
				await("http://127.0.0.1:" + management + "/actuator/health/readiness", process);
			}
			catch (IllegalStateException ex) {
				process.destroyForcibly().waitFor();
				throw ex;
			}
			String token = Files.readString(dir.resolve("admin.token")).strip();
			return new Target("statekeeper", process, "http://127.0.0.1:" + port, "Bearer " + token, management);
		}

		/** The recipe behind a bare HTTP server ({@link Bench#bare}), in a JVM of its own. */
		static Target bare(Path dir) throws Exception {
			int port = freePort();
			Process process = new ProcessBuilder("java", "-Xmx1g", "-cp", System.getProperty("java.class.path"),
					"bench/Bench.java", "--bare", dir.toString(), String.valueOf(port))
				.redirectErrorStream(true)
				.redirectOutput(dir.resolveSibling("bare.log").toFile())
				.start();
			await("http://127.0.0.1:" + port + "/health", process);
			return new Target("bare", process, "http://127.0.0.1:" + port, "none", 0);
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
			return new Target("etcd", process, "http://127.0.0.1:" + client, null, 0);
		}

		HttpRequest put(String key, byte[] body) {
			return HttpRequest.newBuilder(URI.create(this.base + "/api/v1/states/" + key))
				.header("Authorization", this.authorization)
				.header("Content-Type", "application/json")
				.PUT(HttpRequest.BodyPublishers.ofByteArray(body))
				.build();
		}

		HttpRequest get(String key) {
			return HttpRequest.newBuilder(URI.create(this.base + "/api/v1/states/" + key))
				.header("Authorization", this.authorization)
				.build();
		}

		/** Stores one value directly; returns its ETag (statekeeper). */
		String seed(String key, byte[] body) throws Exception {
			HttpRequest request = etcd()
					? HttpRequest.newBuilder(URI.create(this.base + "/v3/kv/put"))
						.POST(HttpRequest.BodyPublishers.ofString(etcdPut(b64(key.getBytes()), b64(body))))
						.build()
					: put(key, body);
			HttpResponse<String> response = CLIENT.send(request, HttpResponse.BodyHandlers.ofString());
			if (response.statusCode() / 100 != 2) {
				throw new IllegalStateException(this.name + ": " + response.statusCode() + " " + response.body());
			}
			return response.headers().firstValue("ETag").orElse(null);
		}

		/**
		 * PUT {@code body} under {@code key}, or, with {@code distinct}, under a key of
		 * each wrk thread's own (one connection per thread).
		 */
		Path putScript(String key, byte[] body, boolean distinct) throws IOException {
			StringBuilder lua = new StringBuilder(preamble());
			if (etcd()) {
				Path value = write("value", b64(body).getBytes(StandardCharsets.US_ASCII));
				lua.append("local value = read(\"").append(value).append("\")\n");
				lua.append("local keys = {");
				for (int i = 1; i <= 16; i++) {
					lua.append('"').append(b64((key + "-" + i).getBytes())).append("\",");
				}
				lua.append("}\nlocal single = \"").append(b64(key.getBytes())).append("\"\n");
				lua.append("function init(args)\n  local k = single\n");
				if (distinct) {
					lua.append("  k = keys[id]\n");
				}
				lua.append("  req = wrk.format(\"POST\", \"/v3/kv/put\", {}, '{\"key\":\"' .. k .. '\",\"value\":\"' "
						+ ".. value .. '\"}')\nend\n");
			}
			else {
				Path file = write("body", body);
				lua.append("local body = read(\"").append(file).append("\")\n");
				lua.append("function init(args)\n  local path = \"/api/v1/states/").append(key).append("\"\n");
				if (distinct) {
					lua.append("  path = path .. \"-\" .. id\n");
				}
				lua.append("  req = wrk.format(\"PUT\", path, headers, body)\nend\n");
			}
			lua.append("function request() return req end\n");
			return script(lua);
		}

		/** GET (statekeeper, with If-None-Match when {@code etag} is given) or range (etcd). */
		Path getScript(String key, String etag) throws IOException {
			StringBuilder lua = new StringBuilder(preamble());
			if (etcd()) {
				lua.append("function init(args)\n  req = wrk.format(\"POST\", \"/v3/kv/range\", {}, '{\"key\":\"")
					.append(b64(key.getBytes()))
					.append("\"}')\nend\n");
			}
			else {
				if (etag != null) {
					lua.append("headers[\"If-None-Match\"] = '").append(etag).append("'\n");
				}
				lua.append("function init(args)\n  req = wrk.format(\"GET\", \"/api/v1/states/")
					.append(key)
					.append("\", headers)\nend\n");
			}
			lua.append("function request() return req end\n");
			return script(lua);
		}

		/**
		 * Every client writes one state with If-Match: on a 412 it reads the current
		 * ETag and tries again; only the 200s count.
		 */
		Path ifMatchScript(String key, byte[] body) throws IOException {
			Path file = write("body", body);
			StringBuilder lua = new StringBuilder(preamble());
			lua.append("local body = read(\"").append(file).append("\")\n");
			lua.append("local path = \"/api/v1/states/").append(key).append("\"\n");
			lua.append("""
					local etag = nil
					function request()
					  if etag == nil then return wrk.format("GET", path, headers) end
					  local h = {}
					  for k, v in pairs(headers) do h[k] = v end
					  h["If-Match"] = etag
					  return wrk.format("PUT", path, h, body)
					end
					function response(status, response_headers, response_body)
					  if status == 200 then
					    ok = ok + 1
					    etag = response_headers["ETag"]
					  else
					    etag = nil
					  end
					end
					""");
			return script(lua);
		}

		/** Helpers every script starts with: per-thread id and success counter. */
		private String preamble() {
			StringBuilder lua = new StringBuilder();
			lua.append("""
					local threads = {}
					local counter = 0
					function setup(thread)
					  counter = counter + 1
					  thread:set("id", counter)
					  thread:set("ok", 0)
					  table.insert(threads, thread)
					end
					function read(name)
					  local f = io.open(name, "rb")
					  local data = f:read("*a")
					  f:close()
					  return data
					end
					function done(summary, latency, requests)
					  local total = 0
					  for _, thread in ipairs(threads) do total = total + thread:get("ok") end
					  io.write("OK " .. total .. "\\n")
					end
					headers = {}
					""");
			if (!etcd()) {
				lua.append("headers[\"Authorization\"] = \"").append(this.authorization).append("\"\n");
				lua.append("headers[\"Content-Type\"] = \"application/json\"\n");
			}
			return lua.toString();
		}

		private Path write(String kind, byte[] data) throws IOException {
			Path file = work.resolve(this.name + "-" + kind + "-" + FILES.incrementAndGet());
			Files.write(file, data);
			return file;
		}

		private Path script(StringBuilder lua) throws IOException {
			Path file = work.resolve(this.name + "-" + FILES.incrementAndGet() + ".lua");
			Files.writeString(file, lua);
			return file;
		}

		/** Runs wrk with one connection per thread. */
		Wrk wrk(Path script, int connections, int duration) throws Exception {
			Duration cpuBefore = cpu();
			Process wrk = new ProcessBuilder("wrk", "-t" + connections, "-c" + connections, "-d" + duration + "s",
					"--latency", "-s", script.toString(), this.base)
				.redirectErrorStream(true)
				.start();
			String output = new String(wrk.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
			if (wrk.waitFor() != 0) {
				throw new IllegalStateException("wrk failed:\n" + output);
			}
			double cpuMillis = cpu().minus(cpuBefore).toNanos() / 1e6;
			double requests = number(output, "(\\d+) requests in");
			double elapsed = durationOf(output);
			Matcher errors = Pattern.compile("Non-2xx or 3xx responses: (\\d+)").matcher(output);
			double failed = errors.find() ? Double.parseDouble(errors.group(1)) : 0;
			Matcher ok = Pattern.compile("OK (\\d+)").matcher(output);
			double okCount = ok.find() ? Double.parseDouble(ok.group(1)) : requests - failed;
			boolean conditional = Files.readString(script).contains("If-Match");
			if (failed > 0 && !conditional) {
				throw new IllegalStateException(this.name + ": " + (long) failed + " failed requests:\n" + output);
			}
			return new Wrk(requests / elapsed, (conditional ? okCount : requests - failed) / elapsed,
					percentile(output, "50%"), percentile(output, "99%"), cpuMillis / requests);
		}

		/** CPU time the target process has used so far. */
		Duration cpu() {
			return Bench.cpu(this.process.toHandle());
		}

		/** The JVM's direct buffer pool, as the service's own metrics report it. */
		long directMiB() throws Exception {
			double used = metric("jvm_buffer_memory_used_bytes\\{id=\"direct\"\\}");
			return (used >= 0) ? (long) (used / (1 << 20)) : -1;
		}

		/** The JIT's accumulated compilation time (ms), from the service's own metrics. */
		double compilationMillis() throws Exception {
			return metric("jvm_compilation_time_ms_total\\{[^}]*\\}");
		}

		/** One sample of the service's Prometheus scrape, or -1. */
		private double metric(String series) throws Exception {
			HttpRequest request = HttpRequest
				.newBuilder(URI.create("http://127.0.0.1:" + this.management + "/actuator/prometheus"))
				.header("Authorization", this.authorization)
				.build();
			String metrics = CLIENT.send(request, HttpResponse.BodyHandlers.ofString()).body();
			Matcher value = Pattern.compile("(?m)^" + series + " (\\S+)").matcher(metrics);
			return value.find() ? Double.parseDouble(value.group(1)) : -1;
		}

		long liveHeapMiB() throws Exception {
			String pid = String.valueOf(this.process.pid());
			new ProcessBuilder("jcmd", pid, "GC.run").redirectErrorStream(true).start().waitFor();
			Process info = new ProcessBuilder("jcmd", pid, "GC.heap_info").redirectErrorStream(true).start();
			String output = new String(info.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
			info.waitFor();
			Matcher used = Pattern.compile("used (\\d+)K").matcher(output);
			return used.find() ? Long.parseLong(used.group(1)) / 1024 : -1;
		}

		void stop() throws InterruptedException {
			this.process.destroy();
			this.process.waitFor();
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
