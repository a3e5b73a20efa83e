package io.statekeeper.security;

import java.net.http.HttpRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.statekeeper.ChildProcess;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * With no token configured, the first start creates an admin token in a 0600 file and
 * logs where it is, never the token; a restart keeps using it.
 */
class AdminTokenTests {

	@TempDir
	Path dataDir;

	@TempDir
	Path logs;

	@Test
	void theFirstStartCreatesAnAdminTokenFileAndNeverLogsTheToken() throws Exception {
		String token;
		try (ChildProcess service = ChildProcess.startWithoutTokens(this.dataDir, this.logs.resolve("first.log"))
			.awaitReady()) {
			Path file = this.dataDir.resolve("admin.token");
			assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
			token = Files.readString(file).strip();
			assertThat(token).hasSizeGreaterThanOrEqualTo(32);
			assertThat(service.output()).contains(file.toString()).doesNotContain(token);
			assertThat(service.sendAs(HttpRequest.newBuilder(service.api("/api/v1/states")), "Bearer " + token)
				.statusCode()).isEqualTo(200);
			assertThat(
					service.sendAs(HttpRequest.newBuilder(service.api("/api/v1/states")), "Bearer wrong").statusCode())
				.isEqualTo(401);
		}
		try (ChildProcess service = ChildProcess.startWithoutTokens(this.dataDir, this.logs.resolve("second.log"))
			.awaitReady()) {
			assertThat(Files.readString(this.dataDir.resolve("admin.token")).strip()).isEqualTo(token);
			assertThat(service.sendAs(HttpRequest.newBuilder(service.api("/api/v1/states")), "Bearer " + token)
				.statusCode()).isEqualTo(200);
			assertThat(service.output()).doesNotContain(token);
		}
	}

}
