package io.statekeeper;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import io.statekeeper.state.BodyMemory;

import static io.statekeeper.RunningService.text;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Bodies held at once are bounded: over real HTTP, a PUT that finds no room while another
 * client's large body is still arriving gets a 503 problem and changes nothing; a small
 * one still fits; once the large one is written, there is room again.
 */
class BodyMemoryOverHttpTests {

	@TempDir
	Path dataDir;

	@ParameterizedTest
	@ValueSource(booleans = { false, true })
	void aBodyThatFindsNoRoomIsRefusedWith503AndChangesNothing(boolean chunked) throws IOException {
		byte[] large = SampleStates.of(240 * 1024, 1);
		byte[] other = SampleStates.of(160 * 1024, 2);
		byte[] small = SampleStates.of(1024, 3);
		try (RunningService service = RunningService.start(this.dataDir,
				withSecondWriter("statekeeper.storage.max-state-size=256KB",
						"statekeeper.storage.max-body-memory=384KB", "statekeeper.storage.lock-timeout=300ms"))) {
			BodyMemory memory = service.context().getBean(BodyMemory.class);
			assertThat(service.managementGet("/actuator/prometheus"))
				.contains("statekeeper_bodies_memory_limit_bytes " + (384.0 * 1024));
			try (Socket slow = new Socket("localhost", service.api("/").getPort())) {
				slow.setSoTimeout(30_000);
				OutputStream out = slow.getOutputStream();
				// all but the last bytes of a large body, then nothing for a while
				String framing = chunked
						? "Transfer-Encoding: chunked\r\n\r\n" + Integer.toHexString(large.length - 10) + "\r\n"
						: "Content-Length: " + large.length + "\r\n\r\n";
				out.write(("PUT /api/v1/states/large HTTP/1.1\r\nHost: localhost\r\nAuthorization: "
						+ RunningService.BEARER + "\r\nContent-Type: application/json\r\n" + framing)
					.getBytes(StandardCharsets.ISO_8859_1));
				out.write(large, 0, large.length - 10);
				out.flush();
				await().atMost(Duration.ofSeconds(20)).until(() -> memory.reserved() >= large.length - 10);
				Map<String, String> before = RunningService.snapshot(this.dataDir);

				// another client: the whole pool, not its share, is what runs out
				HttpResponse<byte[]> refused = service.sendRaw(putAs(service, SECOND, "/api/v1/states/other", other));
				assertThat(refused.statusCode()).isEqualTo(503);
				assertThat(refused.headers().firstValue("Retry-After")).hasValue("1");
				assertThat(refused.headers().firstValue("Content-Type")).hasValue("application/problem+json");
				assertThat(text(refused)).contains("https://statekeeper.io/problems/too-many-large-writes",
						"max-body-memory");
				assertThat(RunningService.snapshot(this.dataDir)).isEqualTo(before);
				assertThat(service.get("/api/v1/states/other").statusCode()).isEqualTo(404);

				assertThat(service.put("/api/v1/states/small", small).statusCode()).isEqualTo(201);

				String rest = chunked ? "\r\n" + Integer.toHexString(10) + "\r\n" : "";
				out.write(rest.getBytes(StandardCharsets.ISO_8859_1));
				out.write(large, large.length - 10, 10);
				out.write((chunked ? "\r\n0\r\n\r\n" : "").getBytes(StandardCharsets.ISO_8859_1));
				out.flush();
				assertThat(statusLine(slow.getInputStream())).isEqualTo("HTTP/1.1 201 ");
			}
			assertThat(service.get("/api/v1/states/large").body()).isEqualTo(large);
			await().atMost(Duration.ofSeconds(10)).until(() -> memory.reserved() == 0);
			assertThat(service.put("/api/v1/states/other", other).statusCode()).isEqualTo(201);
			assertThat(service.get("/api/v1/states/other").body()).isEqualTo(other);
		}
	}

	static final String SECOND = "second-writer-secret-0123456789abcdef";

	private static String[] withSecondWriter(String... properties) {
		return java.util.stream.Stream.concat(java.util.stream.Stream.of(properties),
				java.util.stream.Stream.of("statekeeper.security.tokens[1].id=second",
						"statekeeper.security.tokens[1].secret-sha256=" + java.util.HexFormat.of()
							.formatHex(io.statekeeper.storage.Sha256.of(SECOND.getBytes())),
						"statekeeper.security.tokens[1].roles=writer"))
			.toArray(String[]::new);
	}

	private static java.net.http.HttpRequest.Builder putAs(RunningService service, String secret, String path,
			byte[] body) {
		return java.net.http.HttpRequest.newBuilder(service.api(path))
			.header("Authorization", "Bearer " + secret)
			.header("Content-Type", "application/json")
			.PUT(java.net.http.HttpRequest.BodyPublishers.ofByteArray(body));
	}

	/** Starts a PUT of {@code body} as {@code bearer}, all but its last 10 bytes sent. */
	private static OutputStream startSlowPut(Socket socket, String bearer, String path, byte[] body)
			throws IOException {
		socket.setSoTimeout(30_000);
		OutputStream out = socket.getOutputStream();
		out.write(("PUT " + path + " HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " + bearer
				+ "\r\nContent-Type: application/json\r\nContent-Length: " + body.length + "\r\n\r\n")
			.getBytes(StandardCharsets.ISO_8859_1));
		out.write(body, 0, body.length - 10);
		out.flush();
		return out;
	}

	@org.junit.jupiter.api.Test
	void oneClientsSlowLargeBodiesCannotTakeEveryOnesRoom() throws IOException {
		byte[] large = SampleStates.of(180 * 1024, 1);
		try (RunningService service = RunningService.start(this.dataDir,
				withSecondWriter("statekeeper.storage.max-state-size=256KB",
						"statekeeper.storage.max-body-memory=768KB", "statekeeper.storage.lock-timeout=300ms"));
				Socket first = new Socket("localhost", service.api("/").getPort());
				Socket second = new Socket("localhost", service.api("/").getPort())) {
			BodyMemory memory = service.context().getBean(BodyMemory.class);
			startSlowPut(first, SECOND, "/api/v1/states/a", large);
			await().atMost(Duration.ofSeconds(20)).until(() -> memory.reservedBy("second") >= large.length);
			// the client's share (half of 768 KiB) has room for one more, not two
			startSlowPut(second, SECOND, "/api/v1/states/b", large);
			await().atMost(Duration.ofSeconds(20)).until(() -> memory.reservedBy("second") >= 2 * large.length);
			HttpResponse<byte[]> third = service.sendRaw(putAs(service, SECOND, "/api/v1/states/c", large));
			assertThat(third.statusCode()).isEqualTo(503);
			assertThat(text(third)).contains("one client may hold");
			assertThat(service.get("/api/v1/states/c").statusCode()).isEqualTo(404);

			// everyone else: a large body still has room, and a small one never waits
			assertThat(service.put("/api/v1/states/d", large).statusCode()).isEqualTo(201);
			assertThat(service.put("/api/v1/states/e", SampleStates.of(1024, 2)).statusCode()).isEqualTo(201);
			assertThat(memory.reservedBy("test")).isZero();
		}
	}

	@org.junit.jupiter.api.Test
	void aSmallBodyNeverWaitsEvenWhenLargeOnesHoldEverything() throws IOException {
		byte[] large = SampleStates.of(200 * 1024, 1);
		try (RunningService service = RunningService.start(this.dataDir, "statekeeper.storage.max-state-size=256KB",
				"statekeeper.storage.max-body-memory=256KB", "statekeeper.storage.lock-timeout=300ms");
				Socket slow = new Socket("localhost", service.api("/").getPort())) {
			BodyMemory memory = service.context().getBean(BodyMemory.class);
			startSlowPut(slow, RunningService.TOKEN, "/api/v1/states/a", large);
			await().atMost(Duration.ofSeconds(20)).until(() -> memory.reserved() >= large.length);
			assertThat(service.put("/api/v1/states/b", SampleStates.of(60 * 1024, 2)).statusCode()).isEqualTo(201);
		}
	}

	private static String statusLine(InputStream in) throws IOException {
		StringBuilder line = new StringBuilder();
		for (int b = in.read(); b >= 0 && b != '\r'; b = in.read()) {
			line.append((char) b);
		}
		return line.toString();
	}

}
