package io.statekeeper;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Real processes on one data directory: the second is refused while the first keeps
 * serving; after the first is killed with SIGKILL (its lock file left behind), a new one
 * starts.
 */
class OneProcessPerDataDirectoryTests {

	private static final byte[] STATE = "{\"version\":\"1\",\"resources\":{},\"metadata\":{}}"
		.getBytes(StandardCharsets.UTF_8);

	@TempDir
	Path dataDir;

	@TempDir
	Path logs;

	@Test
	void aSecondProcessIsRefusedAndAKilledOneDoesNotBlockTheNext() throws Exception {
		try (ChildProcess first = ChildProcess.start(this.dataDir, this.logs.resolve("first.log")).awaitReady()) {
			HttpResponse<byte[]> put = first.send(HttpRequest.newBuilder(first.api("/api/v1/states/prod"))
				.header("Content-Type", "application/json")
				.PUT(HttpRequest.BodyPublishers.ofByteArray(STATE)));
			assertThat(put.statusCode()).isEqualTo(201);

			try (ChildProcess second = ChildProcess.start(this.dataDir, this.logs.resolve("second.log"))) {
				assertThat(second.process().waitFor(2, TimeUnit.MINUTES)).as("the second process exits").isTrue();
				assertThat(second.process().exitValue()).isNotZero();
				assertThat(second.output()).contains("Another Statekeeper process is using the data directory")
					.contains(this.dataDir.toString())
					.contains("statekeeper.lock");
			}
			// the first keeps serving
			HttpResponse<byte[]> get = first.send(HttpRequest.newBuilder(first.api("/api/v1/states/prod")));
			assertThat(get.statusCode()).isEqualTo(200);
			assertThat(get.body()).isEqualTo(STATE);

			first.kill();
		}
		assertThat(this.dataDir.resolve("statekeeper.lock")).exists();
		try (ChildProcess next = ChildProcess.start(this.dataDir, this.logs.resolve("next.log")).awaitReady()) {
			HttpResponse<byte[]> get = next.send(HttpRequest.newBuilder(next.api("/api/v1/states/prod")));
			assertThat(get.statusCode()).isEqualTo(200);
			assertThat(get.body()).isEqualTo(STATE);
		}
	}

}
