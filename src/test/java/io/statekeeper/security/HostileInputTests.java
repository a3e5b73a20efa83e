package io.statekeeper.security;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.concurrent.Flow;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

import io.statekeeper.ChildProcess;
import io.statekeeper.RunningService;

import static io.statekeeper.RunningService.text;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Hostile input over real HTTP: each gets a problem (or a closed connection), none a
 * stack trace or an internal path, and nothing on disk changes.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HostileInputTests {

	static final byte[] STATE = "{\"version\":1,\"resources\":{},\"metadata\":{}}".getBytes(StandardCharsets.UTF_8);

	@TempDir
	static Path dataDir;

	RunningService service;

	Map<String, String> before;

	@BeforeAll
	void start() {
		assertThat(dataDir).isNotNull();
		this.service = RunningService.start(dataDir, "statekeeper.storage.max-state-size=64KB",
				"server.tomcat.connection-timeout=1s");
		assertThat(this.service.put("/api/v1/states/prod", STATE).statusCode()).isEqualTo(201);
	}

	@AfterAll
	void stop() {
		this.service.close();
	}

	@BeforeEach
	void snapshot() throws IOException {
		this.before = RunningService.snapshot(dataDir);
	}

	private void assertNothingChanged() throws IOException {
		assertThat(RunningService.snapshot(dataDir)).isEqualTo(this.before);
		assertThat(this.service.get("/api/v1/states/prod").body()).isEqualTo(STATE);
	}

	private static void assertCleanProblem(String body) {
		assertThat(body).contains("\"type\":\"https://statekeeper.io/problems/");
		assertThat(body).doesNotContain("Exception", "\tat ", "/tmp", "/work", "junit");
	}

	/** Sends raw bytes and returns what comes back until the server closes or 64 KiB. */
	private String raw(String request) throws IOException {
		try (Socket socket = new Socket("localhost", this.service.api("/").getPort())) {
			socket.setSoTimeout(30_000);
			OutputStream out = socket.getOutputStream();
			out.write(request.getBytes(StandardCharsets.ISO_8859_1));
			out.flush();
			InputStream in = socket.getInputStream();
			return new String(in.readNBytes(65536), StandardCharsets.ISO_8859_1);
		}
	}

	private String put(String encodedPath) throws IOException {
		return raw("PUT " + encodedPath + " HTTP/1.1\r\nHost: localhost\r\nAuthorization: " + RunningService.BEARER
				+ "\r\nContent-Type: application/json\r\nContent-Length: " + STATE.length
				+ "\r\nConnection: close\r\n\r\n" + new String(STATE, StandardCharsets.ISO_8859_1));
	}

	@ParameterizedTest
	@ValueSource(strings = { "/api/v1/states/a%2Fb", "/api/v1/states/a%2fb", "/api/v1/states/..%2Fprod",
			"/api/v1/states/%2E%2E", "/api/v1/states/a%00b", "/api/v1/states/a%0Ab", "/api/v1/states/a%5Cb",
			"/api/v1/states/prod%20", "/api/v1/states/%D0%B0dmin", "/api/v1/states/a;b=c", "/api/v1/states/.%2e/x",
			"/api/v1/states/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" })
	void pathTricksInNamesAreRefused(String path) throws IOException {
		String response = put(path);
		assertThat(response).startsWith("HTTP/1.1 400");
		assertThat(response).contains("application/problem+json");
		assertCleanProblem(response);
		assertNothingChanged();
	}

	@Test
	@ExtendWith(OutputCaptureExtension.class)
	void aClientThatLeavesMidBodyChangesNothingAndIsNotLoggedAsAnError(CapturedOutput output) throws IOException {
		io.micrometer.core.instrument.MeterRegistry registry = this.service.context()
			.getBean(io.micrometer.core.instrument.MeterRegistry.class);
		java.util.function.LongSupplier puts = () -> registry.find("http.server.requests")
			.tag("method", "PUT")
			.timers()
			.stream()
			.mapToLong(io.micrometer.core.instrument.Timer::count)
			.sum();
		long before = puts.getAsLong();
		try (Socket socket = new Socket("localhost", this.service.api("/").getPort())) {
			socket.getOutputStream()
				.write(("PUT /api/v1/states/prod HTTP/1.1\r\nHost: localhost\r\nAuthorization: " + RunningService.BEARER
						+ "\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"version\":")
					.getBytes(StandardCharsets.ISO_8859_1));
		}
		org.awaitility.Awaitility.await()
			.atMost(java.time.Duration.ofSeconds(20))
			.until(() -> puts.getAsLong() > before);
		assertThat(output.getOut()).doesNotContain("Unexpected error", "ClientAbortException");
		assertNothingChanged();
	}

	@Test
	void anOversizedBodyIsRefusedFromItsContentLengthBeforeItIsRead() throws IOException {
		String response = raw("PUT /api/v1/states/prod HTTP/1.1\r\nHost: localhost\r\nAuthorization: "
				+ RunningService.BEARER
				+ "\r\nContent-Type: application/json\r\nContent-Length: 999999999999\r\nConnection: close\r\n\r\n{");
		assertThat(response).startsWith("HTTP/1.1 413");
		assertCleanProblem(response);
		assertNothingChanged();
	}

	@Test
	void anOversizedChunkedBodyIsRefusedWhileStreaming() throws IOException {
		// a body that never ends: the service must stop reading at the limit, not buffer
		// it all
		Flow.Publisher<java.nio.ByteBuffer> endless = HttpRequest.BodyPublishers.ofInputStream(() -> new InputStream() {
			private long sent;

			@Override
			public int read() {
				return (this.sent++ < 100L * 1024 * 1024) ? ' ' : -1;
			}

			@Override
			public int read(byte[] b, int off, int len) {
				if (this.sent >= 100L * 1024 * 1024) {
					return -1;
				}
				java.util.Arrays.fill(b, off, off + len, (byte) ' ');
				this.sent += len;
				return len;
			}
		});
		HttpResponse<byte[]> response;
		try {
			response = this.service.send(HttpRequest.newBuilder(this.service.api("/api/v1/states/prod"))
				.header("Content-Type", "application/json")
				.PUT(HttpRequest.BodyPublishers.fromPublisher(endless)));
		}
		catch (java.io.UncheckedIOException ex) {
			// the server may close the connection while the client is still sending: also
			// a refusal
			assertNothingChanged();
			return;
		}
		assertThat(response.statusCode()).isEqualTo(413);
		assertCleanProblem(text(response));
		assertNothingChanged();
	}

	@Test
	void jsonBombsAreRefused() throws IOException {
		String deep = "{\"version\":1,\"resources\":{},\"metadata\":" + "[".repeat(20_000) + "]".repeat(20_000) + "}";
		HttpResponse<byte[]> depth = this.service.put("/api/v1/states/prod", deep.getBytes());
		assertThat(depth.statusCode()).isEqualTo(400);
		assertCleanProblem(text(depth));
		String number = "{\"version\":" + "1".repeat(5000) + ",\"resources\":{},\"metadata\":{}}";
		assertThat(this.service.put("/api/v1/states/prod", number.getBytes()).statusCode()).isEqualTo(400);
		StringBuilder keys = new StringBuilder("{\"version\":1,\"resources\":{},\"metadata\":{");
		for (int i = 0; i < 5000; i++) {
			keys.append("\"k").append(i).append("\":1,");
		}
		keys.append("\"k0x\":2},\"version\":2}");
		assertThat(this.service.put("/api/v1/states/prod", keys.toString().getBytes()).statusCode()).isEqualTo(400);
		assertNothingChanged();
	}

	@Test
	void badConditionalHeadersAreRefused() throws IOException {
		for (String value : new String[] { "42", "\"42", "W/", "\"1\" \"2\"", "*, \"1\"x" }) {
			HttpResponse<byte[]> response = this.service.put("/api/v1/states/prod", STATE, "If-Match", value);
			assertThat(response.statusCode()).as(value).isEqualTo(400);
			assertCleanProblem(text(response));
		}
		assertNothingChanged();
	}

	@Test
	void hugeHeadersAreRefused() throws IOException {
		String response = raw("GET /api/v1/states/prod HTTP/1.1\r\nHost: localhost\r\nAuthorization: "
				+ RunningService.BEARER + "\r\nX-Junk: " + "a".repeat(64 * 1024) + "\r\nConnection: close\r\n\r\n");
		assertThat(response).startsWith("HTTP/1.1 400");
		assertCleanProblem(response);
		assertNothingChanged();
	}

	@Test
	void aSlowClientIsDisconnected() throws IOException {
		try (Socket socket = new Socket("localhost", this.service.api("/").getPort())) {
			socket.setSoTimeout(30_000);
			socket.getOutputStream().write("PUT /api/v1/states/prod HTTP/1.1\r\nHost: loc".getBytes());
			socket.getOutputStream().flush();
			// the server gives up on the half-sent request (connection-timeout) and
			// closes
			InputStream in = socket.getInputStream();
			byte[] rest = in.readAllBytes();
			assertThat(new String(rest, StandardCharsets.ISO_8859_1)).doesNotContain("HTTP/1.1 2");
		}
		assertNothingChanged();
	}

	@Test
	void theManagementPortExposesOnlyHealthInfoAndPrometheus() {
		for (String endpoint : new String[] { "env", "beans", "configprops", "heapdump", "threaddump", "loggers",
				"mappings", "shutdown" }) {
			assertThat(this.service.sendRaw(HttpRequest.newBuilder(this.service.management("/actuator/" + endpoint)))
				.statusCode()).as(endpoint).isEqualTo(404);
		}
		assertThat(this.service.managementGet("/actuator/health")).contains("\"status\":\"UP\"");
	}

	@Test
	void filesAre0600AndDirectories0700EvenUnderAPermissiveUmask(@TempDir Path dir, @TempDir Path logs)
			throws Exception {
		try (ChildProcess child = ChildProcess.startWithUmask("000", dir, logs.resolve("umask.log")).awaitReady()) {
			HttpResponse<byte[]> put = child.send(HttpRequest.newBuilder(child.api("/api/v1/states/prod"))
				.header("Content-Type", "application/json")
				.PUT(HttpRequest.BodyPublishers.ofByteArray(STATE)));
			assertThat(put.statusCode()).isEqualTo(201);
			child.send(HttpRequest.newBuilder(child.api("/api/v1/states/prod"))
				.header("Content-Type", "application/json")
				.PUT(HttpRequest.BodyPublishers.ofByteArray(STATE)));
		}
		try (var files = Files.walk(dir)) {
			for (Path path : files.toList()) {
				String mode = PosixFilePermissions.toString(Files.getPosixFilePermissions(path));
				assertThat(mode).as(path.toString()).isEqualTo(Files.isDirectory(path) ? "rwx------" : "rw-------");
			}
		}
	}

	@Test
	void theErrorPageAskedForDirectlyIsA404ProblemNotA500() throws IOException {
		for (String path : new String[] { "/error", "/error?x=1" }) {
			HttpResponse<byte[]> response = this.service
				.sendRaw(java.net.http.HttpRequest.newBuilder(this.service.api(path)).GET());
			assertThat(response.statusCode()).isEqualTo(404);
			assertThat(response.headers().firstValue("Content-Type")).hasValue("application/problem+json");
			assertCleanProblem(text(response));
			assertThat(text(response)).doesNotContain("999");
		}
		assertNothingChanged();
	}

}
