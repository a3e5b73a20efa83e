package io.statekeeper;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.statekeeper.state.BodyMemory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Slow and stalled clients against the real server, each bounded in count and time:
 * headers that take too long are cut off, so slow clients cannot take every connection; a
 * body that falls behind its pace is refused and leaves nothing behind.
 */
class SlowClientTests {

	@TempDir
	Path dataDir;

	/** Sends {@code bytes} one at a time, {@code pause} apart, until done or closed. */
	private static boolean trickle(Socket socket, byte[] bytes, Duration pause) throws InterruptedException {
		try {
			OutputStream out = socket.getOutputStream();
			for (byte b : bytes) {
				out.write(b);
				out.flush();
				Thread.sleep(pause.toMillis());
			}
			return true;
		}
		catch (IOException closed) {
			return false;
		}
	}

	/**
	 * Whether the server closed the connection (EOF or reset) within the socket's
	 * timeout.
	 */
	private static boolean closedByServer(Socket socket) throws IOException {
		try {
			InputStream in = socket.getInputStream();
			while (in.read() >= 0) {
				// an answer, if any, before the close
			}
			return true;
		}
		catch (SocketTimeoutException stillOpen) {
			return false;
		}
		catch (SocketException reset) {
			return true;
		}
	}

	@Test
	void headersThatTakeLongerThanTheDeadlineAreCutOff() throws Exception {
		try (RunningService service = RunningService.start(this.dataDir, "statekeeper.http.header-timeout=1s");
				Socket slow = new Socket("localhost", service.api("/").getPort())) {
			slow.setSoTimeout(10_000);
			byte[] request = ("GET /api/v1/states HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + "a".repeat(40)
					+ "\r\n\r\n")
				.getBytes(StandardCharsets.ISO_8859_1);
			// a byte every 200 ms: Tomcat's connection-timeout (20 s) alone never fires
			boolean sentAll = trickle(slow, request, Duration.ofMillis(200));
			assertThat(sentAll && !closedByServer(slow)).as("the slow connection was closed").isFalse();
			assertThat(service.managementGet("/actuator/prometheus"))
				.contains("statekeeper_http_dropped_total{reason=\"slow-headers\"} 1.0");
			// a request whose headers come at once is served
			assertThat(service.get("/api/v1/states").statusCode()).isEqualTo(200);
		}
	}

	@Test
	void slowHeaderClientsCannotTakeEveryConnection() throws Exception {
		try (RunningService service = RunningService.start(this.dataDir, "statekeeper.http.header-timeout=3s",
				"server.tomcat.max-connections=10", "server.tomcat.accept-count=100")) {
			List<Socket> slow = new ArrayList<>();
			try {
				for (int i = 0; i < 10; i++) {
					Socket socket = new Socket("localhost", service.api("/").getPort());
					socket.getOutputStream().write("GET /api/v1/st".getBytes(StandardCharsets.ISO_8859_1));
					slow.add(socket);
				}
				await().atMost(Duration.ofSeconds(10))
					.until(() -> service.managementGet("/actuator/prometheus")
						.contains("statekeeper_http_connections 10.0"));
				// every slot is taken; the deadline frees them, and the real request gets
				// in
				HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
				HttpResponse<String> answer = client.send(HttpRequest.newBuilder(service.api("/api/v1/states"))
					.header("Authorization", RunningService.BEARER)
					.timeout(Duration.ofSeconds(15))
					.build(), HttpResponse.BodyHandlers.ofString());
				assertThat(answer.statusCode()).isEqualTo(200);
			}
			finally {
				for (Socket socket : slow) {
					socket.close();
				}
			}
			assertThat(service.managementGet("/actuator/prometheus"))
				.contains("statekeeper_http_dropped_total{reason=\"slow-headers\"} 10.0");
		}
	}

	@Test
	void aBodyThatFallsBehindItsPaceIsRefusedWith408AndLeavesNothing() throws Exception {
		try (RunningService service = RunningService.start(this.dataDir, "statekeeper.http.body-timeout=1s",
				"statekeeper.http.body-min-rate=16KB");
				Socket slow = new Socket("localhost", service.api("/").getPort())) {
			BodyMemory memory = service.context().getBean(BodyMemory.class);
			Map<String, String> before = RunningService.snapshot(this.dataDir);
			slow.setSoTimeout(20_000);
			byte[] body = SampleStates.of(200 * 1024, 1);
			OutputStream out = slow.getOutputStream();
			out.write(("PUT /api/v1/states/slow HTTP/1.1\r\nHost: localhost\r\nAuthorization: " + RunningService.BEARER
					+ "\r\nContent-Type: application/json\r\nContent-Length: " + body.length + "\r\n\r\n")
				.getBytes(StandardCharsets.ISO_8859_1));
			out.write(body, 0, 1024);
			out.flush();
			await().atMost(Duration.ofSeconds(10)).until(() -> memory.reserved() > 0);
			// a byte every 100 ms, at most 100 of them: far below 16 KB/s; the server
			// answers and closes the connection (it does not drain the rest at that pace)
			InputStream in = slow.getInputStream();
			OutputStream pace = slow.getOutputStream();
			for (int i = 1024; i < 1124 && in.available() == 0; i++) {
				pace.write(body[i]);
				pace.flush();
				Thread.sleep(100);
			}
			// read to the end: a server still draining the body would keep the
			// connection open, and this would time out
			String answer = new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
			assertThat(answer).startsWith("HTTP/1.1 408 ").contains("https://statekeeper.io/problems/body-too-slow");
			await().atMost(Duration.ofSeconds(10)).until(() -> memory.reserved() == 0);
			assertThat(RunningService.snapshot(this.dataDir)).isEqualTo(before);
			assertThat(service.get("/api/v1/states/slow").statusCode()).isEqualTo(404);
		}
	}

	@Test
	void aStalledBodyIsDroppedAfterTheConnectionTimeout() throws Exception {
		try (RunningService service = RunningService.start(this.dataDir, "server.tomcat.connection-timeout=2s");
				Socket stalled = new Socket("localhost", service.api("/").getPort())) {
			BodyMemory memory = service.context().getBean(BodyMemory.class);
			stalled.setSoTimeout(6_000);
			byte[] body = SampleStates.of(200 * 1024, 1);
			OutputStream out = stalled.getOutputStream();
			out.write(
					("PUT /api/v1/states/stalled HTTP/1.1\r\nHost: localhost\r\nAuthorization: " + RunningService.BEARER
							+ "\r\nContent-Type: application/json\r\nContent-Length: " + body.length + "\r\n\r\n")
						.getBytes(StandardCharsets.ISO_8859_1));
			out.write(body, 0, 100 * 1024);
			out.flush();
			// then nothing: dropped within the connection-timeout and a little (not
			// twice)
			assertThat(closedByServer(stalled)).isTrue();
			await().atMost(Duration.ofSeconds(5)).until(() -> memory.reserved() == 0);
			assertThat(service.get("/api/v1/states/stalled").statusCode()).isEqualTo(404);
		}
	}

}
