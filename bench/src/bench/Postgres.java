package bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import io.statekeeper.PostgresServer;

import static bench.Bench.*;
import static bench.Floor.*;
import static bench.Http.*;

/**
 * The PostgreSQL engine ({@code bench/run --postgresql}): a throwaway PostgreSQL 15
 * cluster of its own (the tests' {@code PostgresServer}: Debian's binaries, fsync and
 * synchronous_commit on, as the postgres user when run as root), the service on it, and
 * beside it the file store, etcd and this engine's floor: a bare JDBC transaction that
 * upserts the same bytes into one row and commits (nothing of ours: no HTTP, validation,
 * checksum, history, lock or read-through).
 */
final class Postgres {

	private Postgres() {
	}

	static void postgresql() throws Exception {
		PostgresServer server = PostgresServer.start(work.resolve("postgresql"));
		try {
			// the service's database, and one beside it on the same server for the floor
			String url = server.jdbcUrl().replace("/postgres", "/bench");
			String floorUrl = server.jdbcUrl().replace("/postgres", "/floor");
			try (Connection admin = DriverManager.getConnection(server.jdbcUrl(), "postgres", null);
					Statement statement = admin.createStatement()) {
				statement.executeUpdate("CREATE DATABASE bench");
				statement.executeUpdate("CREATE DATABASE floor");
			}
			try (Connection connection = DriverManager.getConnection(floorUrl, "postgres", null);
					Statement statement = connection.createStatement()) {
				statement.executeUpdate("CREATE TABLE floor (id int PRIMARY KEY, body bytea NOT NULL)");
			}
			run(url, floorUrl);
		}
		finally {
			server.close();
		}
	}

	private static void run(String url, String floorUrl) throws Exception {
		Target database = Target.statekeeper(work.resolve("statekeeper-postgresql"), "-Xmx1g",
				"--statekeeper.storage.type=postgresql", "--spring.datasource.url=" + url,
				"--spring.datasource.username=postgres");
		Target file = Target.statekeeper(work.resolve("statekeeper-file"), "-Xmx1g");
		Target etcd = Files.isExecutable(Path.of("/usr/bin/etcd")) ? Target.etcd(work.resolve("etcd")) : null;
		List<Target> targets = new ArrayList<>(List.of(database, file));
		if (etcd != null) {
			targets.add(etcd);
		}
		try {
			for (Target target : targets) {
				warm(target, List.of(1024, 100 * 1024, 1024 * 1024), false);
			}
			System.out.println("== PostgreSQL engine: sequential PUT latency, one client (ms), medians of " + ROUNDS
					+ " interleaved rounds; floor: one JDBC transaction upserting the bytes");
			System.out.printf("%-8s %9s %9s | %9s %9s %8s | %9s %8s%n", "size", "jdbc p50", "jdbc p99", "pg p50",
					"pg p99", "pg/jdbc", "file p50", "pg/file");
			for (Map.Entry<String, Integer> size : SIZES.entrySet()) {
				if (size.getValue() > 1024 * 1024) {
					continue;
				}
				byte[] body = state(size.getValue(), 2);
				Path pgScript = database.putScript("pg-lat-" + size.getKey(), body, false);
				Path fileScript = file.putScript("pg-lat-" + size.getKey(), body, false);
				double[][] rounds = new double[ROUNDS][];
				for (int round = 0; round < ROUNDS; round++) {
					double[] floor = jdbcFloor(floorUrl, body, floorIterations / ROUNDS);
					Wrk pg = database.wrk(pgScript, 1, roundSeconds());
					Wrk f = file.wrk(fileScript, 1, roundSeconds());
					rounds[round] = new double[] { floor[0], floor[1], pg.p50(), pg.p99(), pg.p50() / floor[0], f.p50(),
							pg.p50() / f.p50() };
				}
				System.out.printf("%-8s %9.2f %9.2f | %9.2f %9.2f %8.2f | %9.2f %8.2f%n", size.getKey(),
						median(column(rounds, 0)), median(column(rounds, 1)), median(column(rounds, 2)),
						median(column(rounds, 3)), median(column(rounds, 4)), median(column(rounds, 5)),
						median(column(rounds, 6)));
			}
			System.out.println();
			System.out.println("== PostgreSQL engine: writes/s, 1 KiB states, distinct states per client; "
					+ "jdbc: the floor's transaction, a row per thread");
			System.out.printf("%-7s %7s %7s %7s %7s | %7s %7s | %s%n", "clients", "jdbc", "pg", "file", "etcd", "pg/etcd",
					"pg/file", "CPU per write (ms): pg service, its PostgreSQL, file service, etcd");
			byte[] small = state(1024, 4);
			for (int clients : new int[] { 1, 4, 16 }) {
				double jdbc = jdbcRate(floorUrl, small, clients, seconds);
				java.time.Duration serverBefore = serverCpu();
				Wrk pg = database.wrk(database.putScript("pg-w" + clients, small, true), clients, seconds);
				double serverPerWrite = serverCpu().minus(serverBefore).toNanos() / 1e6
						/ (pg.rate() * seconds);
				Wrk f = file.wrk(file.putScript("pg-w" + clients, small, true), clients, seconds);
				Wrk e = (etcd != null) ? etcd.wrk(etcd.putScript("pg-w" + clients, small, true), clients, seconds) : null;
				System.out.printf("%-7d %7.0f %7.0f %7.0f %7s | %7s %7.2f | %.2f, %.2f, %.2f, %s%n", clients, jdbc,
						pg.rate(), f.rate(), (e != null) ? String.format("%.0f", e.rate()) : "-",
						(e != null) ? String.format("%.2f", pg.rate() / e.rate()) : "-", pg.rate() / f.rate(),
						pg.cpuPerRequest(), serverPerWrite, f.cpuPerRequest(),
						(e != null) ? String.format("%.2f", e.cpuPerRequest()) : "-");
			}
		}
		finally {
			for (Target target : targets) {
				target.stop();
			}
		}
	}

	/**
	 * CPU time all PostgreSQL server processes (postmaster and backends) have used so far:
	 * what the database costs beside the service.
	 */
	static java.time.Duration serverCpu() {
		return ProcessHandle.allProcesses()
			.filter((process) -> process.info().command().map((command) -> command.endsWith("/postgres")).orElse(false))
			.map((process) -> process.info().totalCpuDuration().orElse(java.time.Duration.ZERO))
			.reduce(java.time.Duration.ZERO, java.time.Duration::plus);
	}

	/** One transaction per write: upsert the bytes, commit. Returns p50 and p99 in ms. */
	static double[] jdbcFloor(String url, byte[] body, int iterations) throws Exception {
		double[] millis = new double[iterations];
		try (Connection connection = DriverManager.getConnection(url, "postgres", null);
				PreparedStatement upsert = connection.prepareStatement(
						"INSERT INTO floor (id, body) VALUES (0, ?) ON CONFLICT (id) DO UPDATE SET body = EXCLUDED.body")) {
			connection.setAutoCommit(false);
			for (int i = 0; i < iterations; i++) {
				long start = System.nanoTime();
				upsert.setBytes(1, body);
				upsert.executeUpdate();
				connection.commit();
				millis[i] = (System.nanoTime() - start) / 1e6;
			}
		}
		Arrays.sort(millis);
		return new double[] { millis[iterations / 2], millis[Math.min(iterations - 1, (int) (iterations * 0.99))] };
	}

	/** The floor's throughput: {@code threads} connections, a row each, for {@code seconds}. */
	static double jdbcRate(String url, byte[] body, int threads, int seconds) throws Exception {
		AtomicLong commits = new AtomicLong();
		AtomicBoolean stop = new AtomicBoolean();
		ExecutorService writers = Executors.newFixedThreadPool(threads);
		try {
			List<Future<?>> running = new ArrayList<>();
			for (int t = 0; t < threads; t++) {
				int row = 1 + t;
				running.add(writers.submit(() -> {
					try (Connection connection = DriverManager.getConnection(url, "postgres", null);
							PreparedStatement upsert = connection.prepareStatement("INSERT INTO floor (id, body) "
									+ "VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET body = EXCLUDED.body")) {
						connection.setAutoCommit(false);
						while (!stop.get()) {
							upsert.setInt(1, row);
							upsert.setBytes(2, body);
							upsert.executeUpdate();
							connection.commit();
							commits.incrementAndGet();
						}
					}
					return null;
				}));
			}
			Thread.sleep(1000);
			long before = commits.get();
			long start = System.nanoTime();
			Thread.sleep(seconds * 1000L);
			double rate = (commits.get() - before) / ((System.nanoTime() - start) / 1e9);
			stop.set(true);
			for (Future<?> writer : running) {
				writer.get();
			}
			return rate;
		}
		finally {
			writers.shutdown();
		}
	}

}
