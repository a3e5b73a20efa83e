package io.statekeeper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.awaitility.Awaitility.await;

/**
 * The service as a separate JVM (the test class path, the real main class), for tests
 * that need a real process: one that can be killed with SIGKILL, or that must exit.
 */
public final class ChildProcess implements AutoCloseable {

	private static final HttpClient CLIENT = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

	private final Process process;

	private final Path log;

	private final int port;

	private final int managementPort;

	private ChildProcess(Process process, Path log, int port, int managementPort) {
		this.process = process;
		this.log = log;
		this.port = port;
		this.managementPort = managementPort;
	}

	public static ChildProcess start(Path dataDir, Path log, String... properties) {
		return startWithUmask(null, dataDir, log, properties);
	}

	/** Starts the service under {@code sh -c 'umask …; exec java …'}. */
	public static ChildProcess startWithUmask(String umask, Path dataDir, Path log, String... properties) {
		return start(umask, true, dataDir, log, properties);
	}

	/** Starts the service with no token configured (it creates its admin token). */
	public static ChildProcess startWithoutTokens(Path dataDir, Path log, String... properties) {
		return start(null, false, dataDir, log, properties);
	}

	/** Starts the service under another command, such as {@code strace -f …}. */
	public static ChildProcess startUnder(List<String> prefix, Path dataDir, Path log, String... properties) {
		return start(prefix, null, true, dataDir, log, properties);
	}

	private static ChildProcess start(String umask, boolean withToken, Path dataDir, Path log, String... properties) {
		return start(List.of(), umask, withToken, dataDir, log, properties);
	}

	private static ChildProcess start(List<String> prefix, String umask, boolean withToken, Path dataDir, Path log,
			String... properties) {
		int port = freePort();
		int managementPort = freePort();
		List<String> command = new ArrayList<>(
				List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m",
						"-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
						StatekeeperApplication.class.getName(), "--server.port=" + port,
						"--management.server.port=" + managementPort, "--statekeeper.storage.data-dir=" + dataDir,
						"--statekeeper.storage.min-free-space=0", "--spring.main.banner-mode=off"));
		if (withToken) {
			command.addAll(List.of("--statekeeper.security.tokens[0].id=test",
					"--statekeeper.security.tokens[0].secret-sha256=" + RunningService.TOKEN_SHA256,
					"--statekeeper.security.tokens[0].roles=admin"));
		}
		for (String property : properties) {
			command.add("--" + property);
		}
		if (!prefix.isEmpty()) {
			List<String> prefixed = new ArrayList<>(prefix);
			prefixed.addAll(command);
			command = prefixed;
		}
		if (umask != null) {
			StringBuilder script = new StringBuilder("umask " + umask + "; exec");
			for (String part : command) {
				script.append(" '").append(part.replace("'", "'\\''")).append('\'');
			}
			command = List.of("sh", "-c", script.toString());
		}
		try {
			Process process = new ProcessBuilder(command).redirectErrorStream(true)
				.redirectOutput(log.toFile())
				.start();
			return new ChildProcess(process, log, port, managementPort);
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
	}

	/** Waits until the readiness probe answers 200 (or the process dies). */
	public ChildProcess awaitReady() {
		await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(100)).until(() -> {
			if (!this.process.isAlive()) {
				throw new IllegalStateException(
						"The child process exited with " + this.process.exitValue() + ":\n" + output());
			}
			return status(URI.create("http://localhost:" + this.managementPort + "/actuator/health/readiness")) == 200;
		});
		return this;
	}

	public Process process() {
		return this.process;
	}

	public URI api(String path) {
		return URI.create("http://localhost:" + this.port + path);
	}

	public HttpResponse<byte[]> sendAs(HttpRequest.Builder request, String authorization)
			throws IOException, InterruptedException {
		return CLIENT.send(request.header("Authorization", authorization).timeout(Duration.ofSeconds(30)).build(),
				HttpResponse.BodyHandlers.ofByteArray());
	}

	public HttpResponse<byte[]> send(HttpRequest.Builder request) throws IOException, InterruptedException {
		return CLIENT.send(
				request.header("Authorization", RunningService.BEARER).timeout(Duration.ofSeconds(30)).build(),
				HttpResponse.BodyHandlers.ofByteArray());
	}

	public String output() {
		try {
			return Files.readString(this.log);
		}
		catch (IOException ex) {
			return "(no output: " + ex + ")";
		}
	}

	/** SIGKILL: no shutdown hook, no flush, no unlock. */
	public void kill() {
		// a wrapper killed first (strace) would leave the service it runs alive
		this.process.descendants().forEach((child) -> {
			child.destroyForcibly();
			child.onExit().join();
		});
		this.process.destroyForcibly();
		try {
			this.process.waitFor();
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
		}
	}

	@Override
	public void close() {
		if (this.process.isAlive()) {
			kill();
		}
	}

	private static int status(URI uri) {
		try {
			return CLIENT
				.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(2)).build(),
						HttpResponse.BodyHandlers.discarding())
				.statusCode();
		}
		catch (IOException ex) {
			return -1;
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			return -1;
		}
	}

	private static int freePort() {
		try (ServerSocket socket = new ServerSocket(0)) {
			return socket.getLocalPort();
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
	}

}
