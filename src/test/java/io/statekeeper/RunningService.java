package io.statekeeper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import java.nio.file.Files;
import java.util.List;

import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * The whole service, started in this JVM on random ports over a given data directory, and
 * a plain HTTP client to talk to it. Closing it stops the service (and releases the data
 * directory), so a test can start it again on the same directory: a restart.
 */
public final class RunningService implements AutoCloseable {

	private static final HttpClient CLIENT = HttpClient.newHttpClient();

	/** The admin token every started service knows (id {@code test}). */
	public static final String TOKEN = "test-secret-token-0123456789abcdef";

	/** {@code Authorization} header value with {@link #TOKEN}. */
	public static final String BEARER = "Bearer " + TOKEN;

	static final String TOKEN_SHA256 = "6b15fbada9ea4e06f64d8b0fcb8bd182c9eed1d50e1278d504dbf42d65324c41";

	private final ConfigurableApplicationContext context;

	private final int port;

	private final int managementPort;

	private final boolean owned;

	private RunningService(ConfigurableApplicationContext context, boolean owned) {
		this.context = context;
		this.owned = owned;
		this.port = Integer.parseInt(context.getEnvironment().getProperty("local.server.port"));
		this.managementPort = Integer.parseInt(context.getEnvironment().getProperty("local.management.port"));
	}

	public static RunningService start(Path dataDir, String... properties) {
		return start(dataDir, null, null, properties);
	}

	/**
	 * Starts the service with its storage seam replaced (to block or fail a step).
	 * @param dataDir the data directory
	 * @param io the seam to use, or {@code null} for the real one
	 * @param properties extra {@code name=value} properties
	 * @return the running service
	 */
	public static RunningService start(Path dataDir, io.statekeeper.storage.StorageIo io, String... properties) {
		return start(dataDir, io, (java.time.Clock) null, properties);
	}

	/**
	 * Starts the service on a clock the test moves by hand.
	 * @param dataDir the data directory
	 * @param clock the clock
	 * @param properties extra {@code name=value} properties
	 * @return the running service
	 */
	public static RunningService start(Path dataDir, java.time.Clock clock, String... properties) {
		return start(dataDir, (io.statekeeper.storage.StorageIo) null, clock, properties);
	}

	private static RunningService start(Path dataDir, io.statekeeper.storage.StorageIo io, java.time.Clock clock,
			String... properties) {
		java.util.Objects.requireNonNull(dataDir, "dataDir");
		boolean ownMargin = java.util.Arrays.stream(properties)
			.anyMatch((property) -> property.startsWith("statekeeper.storage.min-free-space="));
		List<String> args = new ArrayList<>(
				List.of("--server.port=0", "--management.server.port=0", "--statekeeper.storage.data-dir=" + dataDir,
						"--logging.level.io.statekeeper=WARN", "--statekeeper.security.tokens[0].id=test",
						"--statekeeper.security.tokens[0].secret-sha256=" + TOKEN_SHA256,
						"--statekeeper.security.tokens[0].roles=admin"));
		if (!ownMargin) {
			// tests write to whatever disk the machine has: no margin unless asked for
			args.add("--statekeeper.storage.min-free-space=0");
		}
		for (String property : properties) {
			args.add("--" + property);
		}
		SpringApplicationBuilder builder = new SpringApplicationBuilder(StatekeeperApplication.class);
		if (io != null) {
			builder.initializers((context) -> context.getBeanFactory().registerSingleton("storageIo", io));
		}
		if (clock != null) {
			builder.initializers((context) -> context.getBeanFactory().registerSingleton("clock", clock));
		}
		return new RunningService(builder.run(args.toArray(String[]::new)), true);
	}

	/**
	 * The service of a context the test framework started and keeps (see
	 * {@link SharedService}): closing this handle leaves it running.
	 * @param context the running context
	 * @return a handle to talk to it
	 */
	public static RunningService attach(ConfigurableApplicationContext context) {
		return new RunningService(context, false);
	}

	public ConfigurableApplicationContext context() {
		return this.context;
	}

	public URI api(String path) {
		return URI.create("http://localhost:" + this.port + path);
	}

	public URI management(String path) {
		return URI.create("http://localhost:" + this.managementPort + path);
	}

	/** Sends a request with the test token. */
	public HttpResponse<byte[]> send(HttpRequest.Builder request) {
		return sendRaw(request.header("Authorization", BEARER));
	}

	/** Sends a request exactly as built (no token added). */
	public HttpResponse<byte[]> sendRaw(HttpRequest.Builder request) {
		try {
			return CLIENT.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw new IllegalStateException(ex);
		}
	}

	public HttpResponse<byte[]> get(String path, String... headers) {
		HttpRequest.Builder request = HttpRequest.newBuilder(api(path)).GET();
		if (headers.length > 0) {
			request.headers(headers);
		}
		return send(request);
	}

	public HttpResponse<byte[]> put(String path, byte[] body, String... headers) {
		HttpRequest.Builder request = HttpRequest.newBuilder(api(path))
			.header("Content-Type", "application/json")
			.PUT(HttpRequest.BodyPublishers.ofByteArray(body));
		if (headers.length > 0) {
			request.headers(headers);
		}
		return send(request);
	}

	/**
	 * Any method, with the test token.
	 * @param method the method ({@code LOCK} and {@code UNLOCK} included)
	 * @param path the path
	 * @param body the body, {@code null} for none
	 * @param headers header names and values
	 * @return the response
	 */
	public HttpResponse<byte[]> call(String method, String path, byte[] body, String... headers) {
		HttpRequest.Builder request = HttpRequest.newBuilder(api(path))
			.method(method, (body != null) ? HttpRequest.BodyPublishers.ofByteArray(body)
					: HttpRequest.BodyPublishers.noBody());
		if (headers.length > 0) {
			request.headers(headers);
		}
		return send(request);
	}

	public HttpResponse<byte[]> post(String path) {
		return send(HttpRequest.newBuilder(api(path)).POST(HttpRequest.BodyPublishers.noBody()));
	}

	public HttpResponse<byte[]> delete(String path, String... headers) {
		HttpRequest.Builder request = HttpRequest.newBuilder(api(path)).DELETE();
		if (headers.length > 0) {
			request.headers(headers);
		}
		return send(request);
	}

	public String managementGet(String path) {
		return text(sendRaw(HttpRequest.newBuilder(management(path)).GET()));
	}

	public static String text(HttpResponse<byte[]> response) {
		return new String(response.body(), StandardCharsets.UTF_8);
	}

	@Override
	public void close() {
		if (this.owned) {
			this.context.close();
		}
	}

	/**
	 * Every file under the directory with its bytes, to compare; the audit log is left
	 * out (refused requests are recorded there, on purpose).
	 */
	public static Map<String, String> snapshot(Path dir) throws IOException {
		Map<String, String> files = new TreeMap<>();
		try (Stream<Path> walk = Files.walk(dir)) {
			for (Path path : walk.toList()) {
				String key = dir.relativize(path).toString();
				if (key.startsWith("audit")) {
					continue;
				}
				files.put(key,
						Files.isRegularFile(path) ? new String(Files.readAllBytes(path), StandardCharsets.ISO_8859_1)
								+ "@" + Files.getLastModifiedTime(path) : "dir");
			}
		}
		return files;
	}

}
