package io.statekeeper.terraform;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.extension.RegisterExtension;

import io.statekeeper.PostgresServer;
import io.statekeeper.RunningService;

/**
 * Every {@link TerraformIT} case again, with the real {@code terraform} binary, against
 * two replicas on one real PostgreSQL database: Terraform reads and writes the state
 * through one replica and locks it through the other ({@code lock_address}), so every
 * lock, fence, lease, guard refusal and audit entry has to hold across them.
 */
class TerraformOnReplicasIT extends TerraformIT {

	@RegisterExtension
	static final PostgresServer.PerClass postgres = new PostgresServer.PerClass();

	private String url;

	@BeforeEach
	void database() {
		this.url = postgres.server().createDatabase("terraform");
	}

	@Override
	RunningService start(String name, String... properties) {
		List<String> all = new ArrayList<>(List.of(properties));
		all.addAll(List.of("statekeeper.storage.type=postgresql", "spring.datasource.url=" + this.url,
				"spring.datasource.username=postgres"));
		return RunningService.start(this.dir.resolve(name), all.toArray(String[]::new));
	}

	@Override
	RunningService startLocks(String... properties) {
		return start("data-b", properties);
	}

}
