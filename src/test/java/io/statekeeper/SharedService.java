package io.statekeeper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.micrometer.metrics.test.autoconfigure.AutoConfigureMetrics;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import io.statekeeper.security.SecurityTests;

/**
 * One service for every test that needs no restart and no configuration of its own: a
 * {@code @SpringBootTest} on random ports that Spring's test context cache keeps for the
 * whole run, so the classes that extend this boot it once between them. Its data
 * directory is under {@code target/}, and its tokens are the admin
 * {@link RunningService#TOKEN}, {@link SecurityTests}' reader, writer and
 * {@code team-a-*} writer, and one token of each role scoped to {@code team-a-*}
 * ({@code scoped-reader}, {@code scoped-writer}, {@code scoped-admin}; secret
 * {@link #scopedSecret}).
 *
 * <p>
 * The service is shared, so a test names its own states (see {@link #unique}) and
 * measures counters as a difference, never as an absolute value.
 */
@AutoConfigureMetrics
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = { "management.server.port=0",
		"statekeeper.storage.min-free-space=0", "logging.level.io.statekeeper=WARN" })
public abstract class SharedService {

	private static final Path DATA_DIR = dataDir();

	/** The roles of the scoped tokens, in the order they are configured. */
	public static final List<String> ROLES = List.of("reader", "writer", "admin");

	protected RunningService service;

	@DynamicPropertySource
	static void configure(DynamicPropertyRegistry registry) {
		registry.add("statekeeper.storage.data-dir", DATA_DIR::toString);
		String[] tokens = SecurityTests.tokens();
		for (String token : tokens) {
			int equals = token.indexOf('=');
			registry.add(token.substring(0, equals), () -> token.substring(equals + 1));
		}
		registry.add("statekeeper.security.tokens[0].id", () -> "test");
		registry.add("statekeeper.security.tokens[0].secret-sha256", () -> RunningService.TOKEN_SHA256);
		registry.add("statekeeper.security.tokens[0].roles", () -> "admin");
		for (int i = 0; i < ROLES.size(); i++) {
			String role = ROLES.get(i);
			String prefix = "statekeeper.security.tokens[" + (i + 4) + "].";
			registry.add(prefix + "id", () -> "scoped-" + role);
			registry.add(prefix + "secret-sha256", () -> SecurityTests.sha(scopedSecret(role)));
			registry.add(prefix + "roles", () -> role);
			registry.add(prefix + "states", () -> "team-a-*");
		}
	}

	/**
	 * The secret of the token with this role scoped to {@code team-a-*}.
	 * @param role reader, writer or admin
	 * @return its secret
	 */
	public static String scopedSecret(String role) {
		return role + "-scoped-secret-0123456789abcdef";
	}

	private static Path dataDir() {
		try {
			Path target = Files.createDirectories(Path.of("target"));
			return Files.createTempDirectory(target, "shared-service-").toAbsolutePath();
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
	}

	/**
	 * Spring calls this when it prepares the test instance, before any JUnit callback.
	 */
	@Autowired
	void attach(ConfigurableApplicationContext context) {
		this.service = RunningService.attach(context);
	}

	/**
	 * A state name no other test of the run uses.
	 * @param prefix how the name starts (a scope such as {@code team-a-}, or a hint)
	 * @return the name
	 */
	protected static String unique(String prefix) {
		return prefix + Long.toHexString(System.nanoTime());
	}

}
