package io.statekeeper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A real PostgreSQL server for a test: Debian's binaries ({@code initdb},
 * {@code pg_ctl}), a fresh cluster in a temporary directory, on a free port on loopback.
 * PostgreSQL refuses to run as root, so as root (CI) it runs as the {@code postgres} user
 * through {@code runuser}. Where the binaries are missing the test is skipped with the
 * reason; in CI ({@code CI=true}), where {@code .ci/run} installs them, that is a
 * failure.
 *
 * <p>
 * {@link #stop()} is a clean shutdown; {@link #crash()} stops the server as a crash does
 * ({@code pg_ctl stop -m immediate}: no checkpoint, open transactions lost, recovery from
 * the WAL at the next start); {@link #start()} starts it again on the same cluster and
 * port.
 */
public final class PostgresServer implements AutoCloseable {

	/**
	 * One server for a test class:
	 * {@code @RegisterExtension static PostgresServer.PerClass
	 * postgres = new PostgresServer.PerClass();}, then {@code postgres.server()}.
	 */
	public static final class PerClass implements org.junit.jupiter.api.extension.BeforeAllCallback,
			org.junit.jupiter.api.extension.AfterAllCallback {

		private Path dir;

		private PostgresServer server;

		@Override
		public void beforeAll(org.junit.jupiter.api.extension.ExtensionContext context) throws IOException {
			this.dir = Files.createTempDirectory("statekeeper-postgres-");
			this.server = start(this.dir);
		}

		@Override
		public void afterAll(org.junit.jupiter.api.extension.ExtensionContext context) throws IOException {
			if (this.server != null) {
				this.server.close();
			}
			try (Stream<Path> files = Files.walk(this.dir)) {
				for (Path file : files.sorted(Comparator.reverseOrder()).toList()) {
					Files.deleteIfExists(file);
				}
			}
		}

		/** The running server. */
		public PostgresServer server() {
			return this.server;
		}

	}

	private static final java.util.concurrent.atomic.AtomicInteger DATABASES = new java.util.concurrent.atomic.AtomicInteger();

	private final Path bin;

	private final Path cluster;

	private final Path socketDir;

	private final int port;

	private final boolean asPostgres;

	private PostgresServer(Path bin, Path cluster, Path socketDir, int port, boolean asPostgres) {
		this.bin = bin;
		this.cluster = cluster;
		this.socketDir = socketDir;
		this.port = port;
		this.asPostgres = asPostgres;
	}

	/**
	 * Creates a cluster under {@code dir} and starts it.
	 * @param dir a directory the test owns
	 * @return the running server
	 */
	public static PostgresServer start(Path dir) {
		Path bin = binaries();
		if (bin == null) {
			String reason = "PostgreSQL is not installed (Debian package postgresql: initdb, pg_ctl)";
			if ("true".equals(System.getenv("CI"))) {
				throw new IllegalStateException(reason + ", and CI installs it: .ci/run is broken");
			}
			assumeTrue(false, reason);
		}
		boolean root = "root".equals(System.getProperty("user.name"));
		try {
			Path base = Files.createDirectories(dir.toAbsolutePath().resolve("postgres"));
			Path cluster = base.resolve("cluster");
			Path sockets = Files.createDirectories(base.resolve("sockets"));
			PostgresServer server = new PostgresServer(bin, cluster, sockets, freePort(), root);
			if (root) {
				// the postgres user must reach the directories the test created
				for (Path path = base; path != null && !path.equals(path.getRoot()); path = path.getParent()) {
					run("chmod", "o+x", path.toString());
				}
				run("chown", "-R", "postgres:postgres", base.toString());
			}
			server.runPostgres(bin.resolve("initdb").toString(), "-D", cluster.toString(), "-U", "postgres",
					"--auth=trust", "-E", "UTF8", "--no-sync");
			server.start();
			return server;
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
	}

	private static Path binaries() {
		Path lib = Path.of("/usr/lib/postgresql");
		if (!Files.isDirectory(lib)) {
			return null;
		}
		try (Stream<Path> versions = Files.list(lib)) {
			return versions.map((version) -> version.resolve("bin"))
				.filter((candidate) -> Files.isExecutable(candidate.resolve("pg_ctl")))
				.max(Comparator.comparing(Path::toString))
				.orElse(null);
		}
		catch (IOException ex) {
			return null;
		}
	}

	private static int freePort() throws IOException {
		try (ServerSocket socket = new ServerSocket(0)) {
			return socket.getLocalPort();
		}
	}

	/** Starts (or starts again) the server and waits until it accepts connections. */
	public void start() {
		runPostgres(this.bin.resolve("pg_ctl").toString(), "-D", this.cluster.toString(), "-w", "-t", "60", "-l",
				this.cluster.resolveSibling("server.log").toString(), "-o",
				"-p " + this.port + " -k " + this.socketDir + " -c listen_addresses=127.0.0.1 -c fsync=on", "start");
	}

	/** A clean shutdown. */
	public void stop() {
		runPostgres(this.bin.resolve("pg_ctl").toString(), "-D", this.cluster.toString(), "-w", "-m", "fast", "stop");
	}

	/**
	 * Stops the server as a crash does: no checkpoint, WAL recovery at the next start.
	 */
	public void crash() {
		runPostgres(this.bin.resolve("pg_ctl").toString(), "-D", this.cluster.toString(), "-w", "-m", "immediate",
				"stop");
	}

	/**
	 * The JDBC URL of the {@code postgres} database (user {@code postgres}, trust).
	 * @return the URL
	 */
	public String jdbcUrl() {
		return "jdbc:postgresql://127.0.0.1:" + this.port + "/postgres";
	}

	public int port() {
		return this.port;
	}

	/**
	 * Creates a database of its own for a test, named {@code prefix} and a number.
	 * @param prefix what the name starts with
	 * @return its JDBC URL (user {@code postgres}, trust)
	 */
	public String createDatabase(String prefix) {
		String name = prefix + "_" + DATABASES.incrementAndGet();
		try (java.sql.Connection connection = java.sql.DriverManager.getConnection(jdbcUrl(), "postgres", null);
				java.sql.Statement statement = connection.createStatement()) {
			statement.executeUpdate("CREATE DATABASE " + name);
		}
		catch (java.sql.SQLException ex) {
			throw new IllegalStateException("Cannot create the database " + name, ex);
		}
		return jdbcUrl().replace("/postgres", "/" + name);
	}

	@Override
	public void close() {
		try {
			runPostgres(this.bin.resolve("pg_ctl").toString(), "-D", this.cluster.toString(), "-w", "-m", "immediate",
					"stop");
		}
		catch (IllegalStateException alreadyStopped) {
			// stopped by the test
		}
	}

	private void runPostgres(String... command) {
		List<String> full = new ArrayList<>();
		if (this.asPostgres) {
			full.addAll(List.of("runuser", "-u", "postgres", "--"));
		}
		full.addAll(List.of(command));
		run(full.toArray(String[]::new));
	}

	private static void run(String... command) {
		try {
			Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
			String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
			if (!process.waitFor(2, TimeUnit.MINUTES) || process.exitValue() != 0) {
				throw new IllegalStateException(String.join(" ", command) + " failed: " + output);
			}
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw new IllegalStateException(ex);
		}
	}

}
