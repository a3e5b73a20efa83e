package io.statekeeper.security;

import java.net.http.HttpRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import org.springframework.util.unit.DataSize;

import io.statekeeper.ChildProcess;
import io.statekeeper.storage.FaultyStorageIo;
import io.statekeeper.storage.FaultyStorageIo.Op;
import io.statekeeper.storage.StorageTestSupport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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

	@Test
	void theAdminTokenFileIsWrittenThroughTheStorageSeamAndAFailedWriteLeavesNothing() throws Exception {
		Path data = this.dataDir.resolve("faulty");
		SecurityProperties none = new SecurityProperties(List.of(), DataSize.ofMegabytes(64), Duration.ofMillis(100),
				16, null);
		FaultyStorageIo faulty = new FaultyStorageIo();
		for (Op op : List.of(Op.WRITE, Op.FORCE, Op.MOVE)) {
			faulty.fail(op, "admin.token", FaultyStorageIo::noSpace, 1);
			assertThatThrownBy(() -> new TokenRegistry(none, StorageTestSupport.properties(data), faulty))
				.hasMessageContaining("Cannot read or create the admin token")
				.hasMessageContaining("No space left on device");
			try (Stream<Path> files = Files.list(data)) {
				assertThat(files.toList()).as("after a failed %s", op).isEmpty();
			}
			faulty.clearFaults();
		}
		TokenRegistry created = new TokenRegistry(none, StorageTestSupport.properties(data), faulty);
		Path file = data.resolve(TokenRegistry.ADMIN_TOKEN_FILE);
		assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
		assertThat(created.authenticate(Files.readString(file).strip())).isPresent();
		assertThat(faulty.trace().stream().map((step) -> step.replaceAll("-[0-9a-f]{16}$", ""))).containsSubsequence(
				"CREATE .tmp-admin.token", "WRITE .tmp-admin.token", "FORCE .tmp-admin.token", "MOVE admin.token",
				"FSYNC_DIR faulty");
	}

}
