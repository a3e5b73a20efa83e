package io.statekeeper.state;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.ArrayList;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.extension.RegisterExtension;

import io.statekeeper.ChildProcess;
import io.statekeeper.PostgresServer;
import io.statekeeper.RunningService;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Two replicas of the service on one real PostgreSQL database
 * ({@code statekeeper.storage.type=postgresql}): one set of states, whichever replica is
 * asked; the single-writer rule, {@code If-Match} and client locks hold across them; a
 * database that stops answers 503 and loses nothing acknowledged.
 */
@Tag("reliability")
class ReplicasIT {

	@RegisterExtension
	static final PostgresServer.PerClass postgres = new PostgresServer.PerClass();

	@TempDir
	Path dir;

	private final List<RunningService> replicas = new ArrayList<>();

	private String url;

	@BeforeEach
	void database() {
		this.url = postgres.server().createDatabase("replicas");
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
		// Boot's database health and pool meters, and the store's own meters
		assertThat(a.managementGet("/actuator/health")).contains("\"db\"");
		assertThat(b.managementGet("/actuator/prometheus"))
			.contains("hikaricp_connections_active{pool=\"statekeeper\"}")
			.contains("statekeeper_storage_writable 1.0")
			.contains("statekeeper_storage_conflicts_total");
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
				future.get(2, TimeUnit.MINUTES);
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

	/**
	 * Clients that each write their own state through one replica, one counter value at a
	 * time, and remember what was acknowledged and what was only tried.
	 */
	private static final class Load implements AutoCloseable {

		private static final HttpClient CLIENT = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

		private final ExecutorService pool;

		private final AtomicBoolean running = new AtomicBoolean(true);

		private final AtomicInteger acknowledged = new AtomicInteger();

		private final Map<String, long[]> counters = new ConcurrentHashMap<>();

		private final Set<Integer> statuses = ConcurrentHashMap.newKeySet();

		private final AtomicInteger unavailable = new AtomicInteger();

		private final List<String> problems = new java.util.concurrent.CopyOnWriteArrayList<>();

		private final List<Future<?>> clients = new ArrayList<>();

		/**
		 * @param targets per client, the address of the replica it writes through
		 */
		Load(List<Function<String, URI>> targets) {
			this.pool = Executors.newFixedThreadPool(targets.size());
			for (int c = 0; c < targets.size(); c++) {
				String state = "load-" + c;
				Function<String, URI> target = targets.get(c);
				long[] counter = { 0, 0 };
				this.counters.put(state, counter);
				this.clients.add(this.pool.submit(() -> run(state, target, counter)));
			}
		}

		/** counter[0]: last acknowledged, counter[1]: last tried. */
		private Void run(String state, Function<String, URI> target, long[] counter) throws Exception {
			while (this.running.get()) {
				long next = counter[0] + 1;
				counter[1] = next;
				HttpResponse<byte[]> response;
				try {
					response = CLIENT.send(HttpRequest.newBuilder(target.apply("/api/v1/states/" + state))
						.header("Authorization", RunningService.BEARER)
						.header("Content-Type", "application/json")
						.timeout(Duration.ofSeconds(30))
						.PUT(HttpRequest.BodyPublishers.ofByteArray(Counters.state(next)))
						.build(), HttpResponse.BodyHandlers.ofByteArray());
				}
				catch (java.io.IOException ex) {
					// its replica is gone: nothing acknowledged, the client stops
					return null;
				}
				this.statuses.add(response.statusCode());
				if (response.statusCode() == 200 || response.statusCode() == 201) {
					counter[0] = next;
					this.acknowledged.incrementAndGet();
				}
				else if (response.statusCode() == 503) {
					this.unavailable.incrementAndGet();
					if (response.headers().firstValue("Retry-After").isEmpty()) {
						this.problems.add("503 without Retry-After: " + new String(response.body()));
					}
				}
				else {
					this.problems.add(response.statusCode() + " " + new String(response.body()));
				}
			}
			return null;
		}

		void awaitAcknowledged(int more) {
			int target = this.acknowledged.get() + more;
			await().atMost(Duration.ofMinutes(1)).until(() -> this.acknowledged.get() >= target);
		}

		void awaitUnavailable() {
			await().atMost(Duration.ofMinutes(1)).until(() -> this.unavailable.get() > 0);
		}

		@Override
		public void close() throws Exception {
			this.running.set(false);
			for (Future<?> client : this.clients) {
				client.get(1, TimeUnit.MINUTES);
			}
			this.pool.shutdown();
		}

		/**
		 * Every acknowledged write is there: each state holds its last acknowledged value
		 * or the one tried after it (a write whose answer was lost may have committed).
		 */
		void assertNothingAcknowledgedWasLost(RunningService replica) {
			assertThat(this.problems).isEmpty();
			this.counters.forEach((state, counter) -> {
				HttpResponse<byte[]> now = replica.get("/api/v1/states/" + state);
				if (counter[0] == 0) {
					assertThat(now.statusCode()).isIn(200, 404);
					return;
				}
				assertThat(now.statusCode()).isEqualTo(200);
				assertThat(Counters.of(now.body())).as(state).isBetween(counter[0], counter[1]);
			});
		}

	}

	@Test
	void theDatabaseCrashingMidLoadIsA503UntilItIsBackAndLosesNothingAcknowledged() throws Exception {
		RunningService a = replica();
		RunningService b = replica();
		Load load = new Load(List.of(a::api, b::api, a::api, b::api, a::api, b::api, a::api, b::api));
		try (load) {
			load.awaitAcknowledged(40);
			postgres.server().crash();
			try {
				load.awaitUnavailable();
				// reads fail the same way, and readiness takes the replica out
				HttpResponse<byte[]> read = a.get("/api/v1/states/load-0");
				assertThat(read.statusCode()).isEqualTo(503);
				assertThat(text(read)).contains("storage-unavailable");
				assertThat(read.headers().firstValue("Retry-After")).isPresent();
				assertThat(b.managementGet("/actuator/health/readiness")).contains("\"DOWN\"");
			}
			finally {
				postgres.server().start();
			}
			// back by themselves: no restart of either replica
			load.awaitAcknowledged(40);
		}
		assertThat(load.statuses).containsOnly(200, 201, 503);
		load.assertNothingAcknowledgedWasLost(a);
		load.assertNothingAcknowledgedWasLost(b);
		assertThat(a.managementGet("/actuator/health/readiness")).contains("\"UP\"");
		// the audit entries queued while the database was gone went in once it was back
		int writes = load.acknowledged.get();
		await().atMost(Duration.ofSeconds(30))
			.until(() -> entries(a).stream().filter((entry) -> "success".equals(entry.get("outcome"))).count(),
					(count) -> count == writes);
	}

	@Test
	void aReplicaKilledMidLoadLosesNothingItAcknowledgedAndTheOtherCarriesOn() throws Exception {
		RunningService a = replica();
		try (ChildProcess b = ChildProcess
			.start(this.dir.resolve("child"), this.dir.resolve("child.log"), "statekeeper.storage.type=postgresql",
					"spring.datasource.url=" + this.url, "spring.datasource.username=postgres")
			.awaitReady()) {
			Load load = new Load(List.of(a::api, b::api, a::api, b::api, a::api, b::api, a::api, b::api));
			try (load) {
				load.awaitAcknowledged(60);
				b.kill();
				// b's clients stop at their first refused connection; a's go on
				load.awaitAcknowledged(40);
			}
			load.assertNothingAcknowledgedWasLost(a);
		}
		// and a replica started afterwards serves the same states
		RunningService c = replica();
		assertThat(text(c.get("/api/v1/states"))).contains("load-0", "load-1", "load-7");
	}

	@Test
	void theAuditTrailIsOneChainWhicheverReplicaWroteAndABreakIsFound() throws Exception {
		byte[] key = new byte[32];
		new java.security.SecureRandom().nextBytes(key);
		Path keyFile = java.nio.file.Files.writeString(this.dir.resolve("audit.key"),
				java.util.Base64.getEncoder().encodeToString(key));
		String keyed = "statekeeper.security.audit-key-file=" + keyFile;
		RunningService a = replica(keyed);
		RunningService b = replica(keyed);
		Load load = new Load(List.of(a::api, b::api, a::api, b::api));
		try (load) {
			load.awaitAcknowledged(40);
		}
		// a refused write is audited at once
		assertThat(a.put("/api/v1/states/load-0", Counters.state(0), "If-Match", "\"999\"").statusCode())
			.isEqualTo(412);
		int writes = load.acknowledged.get();
		// successful writes are group-committed within the flush interval
		await().atMost(Duration.ofSeconds(30))
			.until(() -> entries(b).stream().filter((entry) -> "success".equals(entry.get("outcome"))).count(),
					(count) -> count == writes);
		List<Map<String, Object>> chain = entries(a);
		// one chain: numbered without a gap, each naming the one before, both replicas in
		// it
		String prev = "0".repeat(64);
		for (int i = 0; i < chain.size(); i++) {
			Map<String, Object> entry = chain.get(i);
			assertThat(((Number) entry.get("seq")).longValue()).isEqualTo(i + 1);
			assertThat(entry.get("prev")).isEqualTo(prev);
			assertThat(entry.get("mac")).isEqualTo("hmac-sha256");
			prev = (String) entry.get("hash");
		}
		assertThat(chain).anySatisfy((entry) -> assertThat(entry.get("reason")).isEqualTo("precondition-failed"));
		// every acknowledged revision is in it exactly once
		Set<String> written = ConcurrentHashMap.newKeySet();
		for (Map<String, Object> entry : chain) {
			if ("success".equals(entry.get("outcome"))) {
				assertThat(written.add(entry.get("state") + "@" + entry.get("revision"))).isTrue();
			}
		}
		assertThat(written).hasSize(writes);
		// a replica that starts verifies the chain: intact, then edited behind its back
		assertThat(replica(keyed).managementGet("/actuator/health")).contains("\"chainIntact\":true");
		try (Connection connection = DriverManager.getConnection(this.url, "postgres", null);
				Statement statement = connection.createStatement()) {
			assertThat(statement.executeUpdate("UPDATE audit SET line = replace(line, '\"outcome\":\"success\"', "
					+ "'\"outcome\":\"rejected\"') WHERE seq = 3"))
				.isOne();
		}
		assertThat(replica(keyed).managementGet("/actuator/health")).contains("\"chainIntact\":false")
			.contains("entry 3: hash mismatch");
	}

	private static List<Map<String, Object>> entries(RunningService replica) {
		HttpResponse<byte[]> response = replica.get("/api/v1/audit?limit=100000");
		assertThat(response.statusCode()).isEqualTo(200);
		return tools.jackson.databind.json.JsonMapper.builder()
			.build()
			.readValue(response.body(), new tools.jackson.core.type.TypeReference<List<Map<String, Object>>>() {
			});
	}

	@Test
	void aStateDamagedInTheDatabaseIsHeldOnEveryReplicaUntilAnAdminRestoresIt() throws Exception {
		RunningService a = replica();
		RunningService b = replica();
		assertThat(a.put("/api/v1/states/held", Counters.state(1)).statusCode()).isEqualTo(201);
		assertThat(a.put("/api/v1/states/held", Counters.state(2)).statusCode()).isEqualTo(200);
		try (Connection connection = DriverManager.getConnection(this.url, "postgres", null);
				Statement statement = connection.createStatement()) {
			assertThat(statement.executeUpdate("UPDATE versions SET body = overlay(body placing '!'::bytea from 3 "
					+ "for 1) WHERE name = 'held' AND revision = 2"))
				.isOne();
		}
		// b never read it, c starts now: both read the row and find it damaged (a replica
		// that already holds the verified bytes, as a does, serves them, as the file
		// store serves from memory what it verified)
		RunningService c = replica();
		for (RunningService replica : List.of(b, c)) {
			HttpResponse<byte[]> read = replica.get("/api/v1/states/held");
			assertThat(read.statusCode()).isEqualTo(503);
			assertThat(text(read)).contains("state-held").contains("\"validRevisions\":[1]");
			// a write without an admin's restore is refused, and changes nothing
			assertThat(replica.put("/api/v1/states/held", Counters.state(9)).statusCode()).isEqualTo(503);
		}
		// an admin restores on one replica; the others serve it
		assertThat(b.post("/api/v1/states/held/versions/1/restore").statusCode()).isIn(200, 201);
		assertThat(a.get("/api/v1/states/held").body()).isEqualTo(Counters.state(1));
		HttpResponse<byte[]> restored = c.get("/api/v1/states/held");
		assertThat(restored.statusCode()).isEqualTo(200);
		assertThat(restored.body()).isEqualTo(Counters.state(1));
		assertThat(restored.headers().firstValue("ETag")).hasValue("\"3\"");
	}

}
