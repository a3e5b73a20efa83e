package io.statekeeper.state;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.extension.RegisterExtension;

import io.statekeeper.PostgresServer;
import io.statekeeper.RunningService;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Two replicas of the service on one real PostgreSQL database
 * ({@code statekeeper.storage.type=postgresql}): one set of states, whichever replica is
 * asked; the single-writer rule, {@code If-Match} and client locks hold across them; a
 * database that stops answers 503 and loses nothing acknowledged.
 */
@Tag("reliability")
class ReplicasIT {

	private static final AtomicInteger databases = new AtomicInteger();

	@RegisterExtension
	static final PostgresServer.PerClass postgres = new PostgresServer.PerClass();

	@TempDir
	Path dir;

	private final List<RunningService> replicas = new ArrayList<>();

	private String url;

	@BeforeEach
	void database() throws SQLException {
		String name = "replicas_" + databases.incrementAndGet();
		try (Connection connection = DriverManager.getConnection(postgres.server().jdbcUrl(), "postgres", null);
				Statement statement = connection.createStatement()) {
			statement.executeUpdate("CREATE DATABASE " + name);
		}
		this.url = postgres.server().jdbcUrl().replace("/postgres", "/" + name);
	}

	@AfterEach
	void stop() {
		this.replicas.forEach(RunningService::close);
	}

	private RunningService replica(String... properties) {
		List<String> all = new ArrayList<>(
				List.of("statekeeper.storage.type=postgresql", "spring.datasource.url=" + this.url,
						"spring.datasource.username=postgres", "spring.datasource.hikari.maximum-pool-size=8"));
		all.addAll(List.of(properties));
		RunningService replica = RunningService.start(this.dir.resolve("replica-" + this.replicas.size()),
				all.toArray(String[]::new));
		this.replicas.add(replica);
		return replica;
	}

	private static String text(HttpResponse<byte[]> response) {
		return new String(response.body(), StandardCharsets.UTF_8);
	}

	@Test
	void bothReplicasServeOneSetOfStates() {
		RunningService a = replica();
		RunningService b = replica();
		assertThat(a.put("/api/v1/states/prod", Counters.state(1)).statusCode()).isEqualTo(201);
		HttpResponse<byte[]> read = b.get("/api/v1/states/prod");
		assertThat(read.statusCode()).isEqualTo(200);
		assertThat(read.body()).isEqualTo(Counters.state(1));
		assertThat(read.headers().firstValue("ETag")).hasValue("\"1\"");
		// b writes on what a wrote; a serves it at once
		assertThat(b.put("/api/v1/states/prod", Counters.state(2), "If-Match", "\"1\"").statusCode()).isEqualTo(200);
		assertThat(a.get("/api/v1/states/prod").body()).isEqualTo(Counters.state(2));
		// a's view of revision 1 is stale: its condition fails, nothing is written
		HttpResponse<byte[]> stale = a.put("/api/v1/states/prod", Counters.state(9), "If-Match", "\"1\"");
		assertThat(stale.statusCode()).isEqualTo(412);
		assertThat(text(stale)).contains("\"currentRevision\":2");
		assertThat(b.get("/api/v1/states/prod").body()).isEqualTo(Counters.state(2));
		// the list, the history and a kept version, from the other replica
		assertThat(text(a.get("/api/v1/states"))).contains("\"name\":\"prod\"").contains("\"revision\":2");
		assertThat(text(a.get("/api/v1/states/prod/versions"))).contains("\"revision\":1");
		assertThat(b.get("/api/v1/states/prod/versions/1").body()).isEqualTo(Counters.state(1));
		// a delete on one is a 404 on the other; a restore on the other brings it back
		assertThat(b.delete("/api/v1/states/prod").statusCode()).isEqualTo(204);
		assertThat(a.get("/api/v1/states/prod").statusCode()).isEqualTo(404);
		assertThat(a.post("/api/v1/states/prod/versions/2/restore").statusCode()).isIn(200, 201);
		HttpResponse<byte[]> restored = b.get("/api/v1/states/prod");
		assertThat(restored.body()).isEqualTo(Counters.state(2));
		assertThat(restored.headers().firstValue("ETag")).hasValue("\"4\"");
		assertThat(a.managementGet("/actuator/health/readiness")).contains("\"UP\"").contains("postgresql");
	}

	@Test
	void aLockTakenOnOneReplicaHoldsOnTheOther() {
		RunningService a = replica();
		RunningService b = replica();
		assertThat(a.put("/api/v1/states/tf", Counters.state(1)).statusCode()).isEqualTo(201);
		byte[] info = "{\"ID\":\"run-1\",\"Operation\":\"OperationTypeApply\",\"Who\":\"ci@a\"}"
			.getBytes(StandardCharsets.UTF_8);
		assertThat(a.call("LOCK", "/terraform/states/tf", info).statusCode()).isEqualTo(200);
		// the other replica sees the lock: no write without it, no second locker
		assertThat(b.put("/api/v1/states/tf", Counters.state(2)).statusCode()).isEqualTo(423);
		byte[] other = "{\"ID\":\"run-2\",\"Operation\":\"OperationTypeApply\",\"Who\":\"ci@b\"}"
			.getBytes(StandardCharsets.UTF_8);
		HttpResponse<byte[]> refused = b.call("LOCK", "/terraform/states/tf", other);
		assertThat(refused.statusCode()).isEqualTo(423);
		assertThat(text(refused)).contains("run-1");
		// the holder writes through either replica
		assertThat(b.put("/api/v1/states/tf", Counters.state(2), "Lock-Id", "run-1").statusCode()).isEqualTo(200);
		// forced on b, the lock is gone on a too: run-1 is fenced everywhere
		assertThat(b.call("UNLOCK", "/terraform/states/tf", null).statusCode()).isEqualTo(200);
		assertThat(a.put("/api/v1/states/tf", Counters.state(3), "Lock-Id", "run-1").statusCode()).isEqualTo(409);
		assertThat(a.get("/api/v1/states/tf").body()).isEqualTo(Counters.state(2));
		assertThat(a.call("LOCK", "/terraform/states/tf", other).statusCode()).isEqualTo(200);
		assertThat(text(b.get("/api/v1/states/tf/lock"))).contains("run-2");
	}

	@Test
	void eightClientsDoingReadModifyWriteAcrossBothReplicasLoseNoUpdate() throws Exception {
		RunningService a = replica();
		RunningService b = replica();
		assertThat(a.put("/api/v1/states/counter", Counters.state(0)).statusCode()).isEqualTo(201);
		int clients = 8;
		int increments = 15;
		Set<Long> acknowledged = ConcurrentHashMap.newKeySet();
		AtomicInteger refused = new AtomicInteger();
		ExecutorService pool = Executors.newFixedThreadPool(clients);
		try {
			List<Future<?>> work = new ArrayList<>();
			for (int c = 0; c < clients; c++) {
				RunningService mine = (c % 2 == 0) ? a : b;
				RunningService other = (c % 2 == 0) ? b : a;
				work.add(pool.submit(() -> {
					for (int done = 0; done < increments;) {
						// read on one replica, write on the other
						HttpResponse<byte[]> read = mine.get("/api/v1/states/counter");
						assertThat(read.statusCode()).isEqualTo(200);
						long next = Counters.of(read.body()) + 1;
						HttpResponse<byte[]> write = other.put("/api/v1/states/counter", Counters.state(next),
								"If-Match", read.headers().firstValue("ETag").orElseThrow());
						if (write.statusCode() == 200) {
							assertThat(acknowledged.add(next)).as("counter %d acknowledged twice", next).isTrue();
							done++;
						}
						else {
							assertThat(write.statusCode()).isEqualTo(412);
							refused.incrementAndGet();
						}
					}
					return null;
				}));
			}
			for (Future<?> future : work) {
				future.get(5, TimeUnit.MINUTES);
			}
		}
		finally {
			pool.shutdownNow();
		}
		long total = (long) clients * increments;
		assertThat(acknowledged).hasSize((int) total);
		assertThat(Counters.of(a.get("/api/v1/states/counter").body())).isEqualTo(total);
		assertThat(b.get("/api/v1/states/counter").headers().firstValue("ETag")).hasValue("\"" + (total + 1) + "\"");
		// the clients did race: some conditions failed and were retried
		assertThat(refused.get()).isPositive();
	}

}
