package io.statekeeper.system;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.statekeeper.RunningService;
import io.statekeeper.SharedService;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The alerting rules pass {@code promtool test rules}, and a real Prometheus scraping the
 * running service finds its write metrics through the query API. Skipped (with the
 * reason) where Debian's {@code prometheus} package is not installed; {@code .ci/run}
 * installs it.
 */
class PrometheusTests extends SharedService {

	private static final Path PROMETHEUS = Path.of("/usr/bin/prometheus");

	private static final Path PROMTOOL = Path.of("/usr/bin/promtool");

	private static final Path RULES = Path.of("deploy/prometheus").toAbsolutePath();

	@TempDir
	Path dir;

	private static String run(Path workDir, String... command) throws IOException, InterruptedException {
		Process process = new ProcessBuilder(command).directory(workDir.toFile()).redirectErrorStream(true).start();
		String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
		assertThat(process.waitFor()).as(output).isZero();
		return output;
	}

	@Test
	void theRulesAreValidAndTheirUnitTestsPass() throws Exception {
		assumeTrue(Files.isExecutable(PROMTOOL), "promtool is not installed (Debian package prometheus)");
		assertThat(run(RULES, PROMTOOL.toString(), "check", "rules", "statekeeper.rules.yml")).contains("SUCCESS");
		assertThat(run(RULES.resolve("tests"), PROMTOOL.toString(), "test", "rules", "statekeeper.rules.test.yml"))
			.contains("SUCCESS");
	}

	@Test
	void aRealPrometheusScrapesTheWriteMetrics() throws Exception {
		assumeTrue(Files.isExecutable(PROMETHEUS), "prometheus is not installed (Debian package prometheus)");
		RunningService service = this.service;
		{
			assertThat(service
				.put("/api/v1/states/" + unique("scraped-"),
						"{\"version\":1,\"resources\":{},\"metadata\":{}}".getBytes())
				.statusCode()).isEqualTo(201);
			int port = freePort();
			Path config = this.dir.resolve("prometheus.yml");
			Files.writeString(config, """
					global:
					  scrape_interval: 1s
					  evaluation_interval: 1s
					rule_files:
					  - %s
					scrape_configs:
					  - job_name: statekeeper
					    metrics_path: /actuator/prometheus
					    static_configs:
					      - targets: ["localhost:%d"]
					""".formatted(RULES.resolve("statekeeper.rules.yml"), service.management("/").getPort()));
			Process prometheus = new ProcessBuilder(PROMETHEUS.toString(), "--config.file=" + config,
					"--storage.tsdb.path=" + this.dir.resolve("tsdb"), "--web.listen-address=127.0.0.1:" + port)
				.redirectErrorStream(true)
				.redirectOutput(this.dir.resolve("prometheus.log").toFile())
				.start();
			try {
				HttpClient client = HttpClient.newHttpClient();
				String query = URLEncoder.encode(
						"statekeeper_state_writes_seconds_count{operation=\"put\",outcome=\"success\"}",
						StandardCharsets.UTF_8);
				URI uri = URI.create("http://127.0.0.1:" + port + "/api/v1/query?query=" + query);
				await().atMost(Duration.ofMinutes(1)).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
					assertThat(prometheus.isAlive()).as(() -> log()).isTrue();
					String body = body(client, uri);
					assertThat(body).contains("\"status\":\"success\"")
						.contains("\"__name__\":\"statekeeper_state_writes_seconds_count\"")
						.contains("\"job\":\"statekeeper\"");
				});
				String rules = body(client, URI.create("http://127.0.0.1:" + port + "/api/v1/rules"));
				assertThat(rules).contains("StatekeeperWriteSuccessRateLow", "statekeeper:write_success_ratio:rate5m");
			}
			finally {
				prometheus.destroy();
				prometheus.waitFor();
			}
		}
	}

	private String log() {
		try {
			return Files.readString(this.dir.resolve("prometheus.log"));
		}
		catch (IOException ex) {
			return ex.toString();
		}
	}

	private static String body(HttpClient client, URI uri) {
		try {
			return client.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString()).body();
		}
		catch (IOException ex) {
			return ex.toString();
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			return ex.toString();
		}
	}

	private static int freePort() throws IOException {
		try (ServerSocket socket = new ServerSocket(0)) {
			return socket.getLocalPort();
		}
	}

}
