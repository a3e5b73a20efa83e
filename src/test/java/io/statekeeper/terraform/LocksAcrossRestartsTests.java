package io.statekeeper.terraform;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.statekeeper.RunningService;
import io.statekeeper.storage.StoredLock;

import static io.statekeeper.RunningService.text;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Locks over real HTTP across restarts of the whole service: a lock taken before a
 * restart holds after it, with its holder and lease; a lock file damaged while the
 * service was down still refuses writes until a client takes it over or an operator
 * forces it.
 */
class LocksAcrossRestartsTests {

	@TempDir
	Path dataDir;

	@Test
	void aLockHoldsAcrossARestartWithItsHolderAndLease() {
		String expiresAt;
		try (RunningService service = RunningService.start(this.dataDir)) {
			assertThat(service.call("LOCK", "/terraform/states/prod", TerraformProtocolTests.lockInfo("id-a"))
				.statusCode()).isEqualTo(200);
			expiresAt = text(service.get("/api/v1/states/prod/lock")).replaceAll(".*\"expiresAt\":\"([^\"]+)\".*",
					"$1");
		}
		try (RunningService service = RunningService.start(this.dataDir)) {
			assertThat(text(service.get("/api/v1/states/prod/lock"))).contains("\"ID\":\"id-a\"",
					"\"expiresAt\":\"" + expiresAt + "\"");
			assertThat(service.call("LOCK", "/terraform/states/prod", TerraformProtocolTests.lockInfo("id-b"))
				.statusCode()).isEqualTo(423);
			assertThat(
					service.call("POST", "/terraform/states/prod", TerraformProtocolTests.tfstate(1, "l")).statusCode())
				.isEqualTo(423);
			assertThat(service.call("POST", "/terraform/states/prod?ID=id-a", TerraformProtocolTests.tfstate(1, "l"))
				.statusCode()).isEqualTo(200);
		}
	}

	@Test
	void aDamagedLockFileStillRefusesWritesUntilForced() throws Exception {
		try (RunningService service = RunningService.start(this.dataDir)) {
			service.call("LOCK", "/terraform/states/prod", TerraformProtocolTests.lockInfo("id-a"));
		}
		Path file = this.dataDir.resolve("locks/prod.json");
		Files.writeString(file, Files.readString(file).replace("id-a", "id-z"));
		try (RunningService service = RunningService.start(this.dataDir)) {
			assertThat(text(service.get("/api/v1/states/prod/lock"))).contains(StoredLock.DAMAGED_ID);
			assertThat(
					service.call("POST", "/terraform/states/prod", TerraformProtocolTests.tfstate(1, "l")).statusCode())
				.isEqualTo(423);
			assertThat(service.call("POST", "/terraform/states/prod?ID=id-a", TerraformProtocolTests.tfstate(1, "l"))
				.statusCode()).isEqualTo(409);
			assertThat(service.delete("/api/v1/states/prod/lock").statusCode()).isEqualTo(204);
			assertThat(
					service.call("POST", "/terraform/states/prod", TerraformProtocolTests.tfstate(1, "l")).statusCode())
				.isEqualTo(200);
			assertThat(service.managementGet("/actuator/prometheus"))
				.contains("statekeeper_locks_total{outcome=\"forced\"} 1.0");
		}
	}

}
