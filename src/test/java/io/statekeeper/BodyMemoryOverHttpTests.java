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
		byte[] large = SampleStates.of(60 * 1024, 1);
		byte[] other = SampleStates.of(40 * 1024, 2);
		byte[] small = SampleStates.of(1024, 3);
		try (RunningService service = RunningService.start(this.dataDir, "statekeeper.storage.max-state-size=64KB",
				"statekeeper.storage.max-body-memory=96KB", "statekeeper.storage.lock-timeout=300ms")) {
			BodyMemory memory = service.context().getBean(BodyMemory.class);
			assertThat(service.managementGet("/actuator/prometheus"))
				.contains("statekeeper_bodies_memory_limit_bytes " + (96.0 * 1024));
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

				HttpResponse<byte[]> refused = service.put("/api/v1/states/other", other);
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

	private static String statusLine(InputStream in) throws IOException {
		StringBuilder line = new StringBuilder();
		for (int b = in.read(); b >= 0 && b != '\r'; b = in.read()) {
			line.append((char) b);
		}
		return line.toString();
	}

}
