package io.statekeeper.state;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.statekeeper.SharedService;

import static io.statekeeper.RunningService.text;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * PATCH over real HTTP on the shared service: JSON Patch and JSON Merge Patch stored as
 * new revisions, every refusal with its status and nothing changed, and concurrent
 * patches of different resources that never need a retry and never lose each other's
 * change.
 */
class PatchOverHttpTests extends SharedService {

	private static final String JSON_PATCH = "application/json-patch+json";

	private static final String MERGE_PATCH = "application/merge-patch+json";

	private static final byte[] STATE = """
			{ "version": "1.0.0",
			  "resources": { "vpc": { "kind": "network", "remote_id": "vpc-1", "cost": 2.50 } },
			  "metadata": { "owner": "team-a" } }
			""".getBytes(StandardCharsets.UTF_8);

	String name;

	String path;

	@BeforeEach
	void state() {
		this.name = unique("patch-");
		this.path = "/api/v1/states/" + this.name;
		assertThat(this.service.put(this.path, STATE).statusCode()).isEqualTo(201);
	}

	private HttpResponse<byte[]> patch(String contentType, String body, String... headers) {
		List<String> all = new ArrayList<>(List.of("Content-Type", contentType));
		all.addAll(List.of(headers));
		return this.service.call("PATCH", this.path, body.getBytes(StandardCharsets.UTF_8), all.toArray(String[]::new));
	}

	private void unchanged() {
		HttpResponse<byte[]> read = this.service.get(this.path);
		assertThat(read.body()).isEqualTo(STATE);
		assertThat(read.headers().firstValue("ETag")).hasValue("\"1\"");
	}

	/** Patches with this outcome, whatever their reason. */
	private double patches(String outcome) {
		return this.service.context()
			.getBean(MeterRegistry.class)
			.find("statekeeper.state.writes")
			.tags("operation", "patch", "outcome", outcome)
			.timers()
			.stream()
			.mapToDouble(Timer::count)
			.sum();
	}

	@Test
	void aJsonPatchIsStoredAsANewRevisionSerializedAnewAndAudited() {
		double before = patches("success");
		HttpResponse<byte[]> patched = patch(JSON_PATCH,
				"[{\"op\":\"test\",\"path\":\"/resources/vpc/remote_id\",\"value\":\"vpc-1\"},"
						+ "{\"op\":\"add\",\"path\":\"/resources/subnet\",\"value\":{\"kind\":\"subnet\",\"remote_id\":\"sn-1\"}},"
						+ "{\"op\":\"replace\",\"path\":\"/resources/vpc/remote_id\",\"value\":\"vpc-2\"}]");
		assertThat(patched.statusCode()).as(text(patched)).isEqualTo(200);
		assertThat(patched.headers().firstValue("ETag")).hasValue("\"2\"");
		assertThat(text(patched)).contains("\"revision\":2", "\"checksum\":\"sha256:");
		assertThat(text(this.service.get(this.path))).isEqualTo("{\"version\":\"1.0.0\",\"resources\":{\"vpc\":"
				+ "{\"kind\":\"network\",\"remote_id\":\"vpc-2\",\"cost\":2.50},\"subnet\":{\"kind\":\"subnet\","
				+ "\"remote_id\":\"sn-1\"}},\"metadata\":{\"owner\":\"team-a\"}}");
		assertThat(this.service.get(this.path + "/versions/1").body()).isEqualTo(STATE);
		assertThat(text(this.service.get("/api/v1/audit?state=" + this.name))).contains("\"action\":\"patch\"",
				"\"revision\":2", "\"outcome\":\"success\"");
		assertThat(patches("success")).isEqualTo(before + 1);
	}

	@Test
	void aMergePatchChangesAndRemovesMembers() {
		HttpResponse<byte[]> patched = patch(MERGE_PATCH,
				"{\"resources\":{\"vpc\":{\"cost\":null,\"remote_id\":\"vpc-9\"}},\"metadata\":{\"env\":\"prod\"}}");
		assertThat(patched.statusCode()).as(text(patched)).isEqualTo(200);
		assertThat(text(this.service.get(this.path)))
			.contains("\"remote_id\":\"vpc-9\"", "\"env\":\"prod\"", "\"owner\":\"team-a\"")
			.doesNotContain("cost");
	}

	@Test
	void ifMatchIsOptionalAndHonoured() {
		assertThat(patch(MERGE_PATCH, "{\"metadata\":{\"a\":1}}", "If-Match", "\"7\"").statusCode()).isEqualTo(412);
		unchanged();
		assertThat(patch(MERGE_PATCH, "{\"metadata\":{\"a\":1}}", "If-Match", "\"1\"").statusCode()).isEqualTo(200);
	}

	@Test
	void everyRefusalHasItsStatusAndChangesNothing() {
		double rejected = patches("rejected");
		HttpResponse<byte[]> failedTest = patch(JSON_PATCH,
				"[{\"op\":\"remove\",\"path\":\"/resources/vpc\"},{\"op\":\"test\",\"path\":\"/metadata/owner\",\"value\":\"team-b\"}]");
		assertThat(failedTest.statusCode()).isEqualTo(409);
		assertThat(text(failedTest)).contains("patch-conflict", "\"operation\":1");
		assertThat(patch(JSON_PATCH, "[{\"op\":\"replace\",\"path\":\"/resources/nat\",\"value\":{}}]").statusCode())
			.isEqualTo(409);
		assertThat(text(patch(JSON_PATCH, "[{\"op\":\"add\",\"path\":\"/x\"]"))).contains("malformed-json");
		assertThat(text(patch(JSON_PATCH, "{\"op\":\"add\",\"path\":\"/x\",\"value\":1}"))).contains("invalid-patch");
		HttpResponse<byte[]> notAState = patch(JSON_PATCH, "[{\"op\":\"remove\",\"path\":\"/metadata\"}]");
		assertThat(notAState.statusCode()).isEqualTo(422);
		assertThat(text(notAState)).contains("not-a-state", "metadata");
		assertThat(patch("application/json", "{\"metadata\":{}}").statusCode()).isEqualTo(415);
		assertThat(patch("text/plain", "{}").statusCode()).isEqualTo(415);
		unchanged();
		assertThat(patches("rejected")).isEqualTo(rejected + 5);
		assertThat(this.service
			.call("PATCH", "/api/v1/states/" + unique("absent-"), "{}".getBytes(), "Content-Type", MERGE_PATCH)
			.statusCode()).isEqualTo(404);
	}

	@Test
	void aLockedStateNeedsTheHoldersLockId() {
		this.service.call("POST", this.path + "/lock", "{\"ID\":\"id-p\"}".getBytes(), "Content-Type",
				"application/json");
		assertThat(patch(MERGE_PATCH, "{\"metadata\":{\"a\":1}}").statusCode()).isEqualTo(423);
		unchanged();
		assertThat(patch(MERGE_PATCH, "{\"metadata\":{\"a\":1}}", "Lock-Id", "id-p").statusCode()).isEqualTo(200);
	}

	@Test
	void concurrentPatchesOfDifferentResourcesNeverRetryAndLoseNothing() throws Exception {
		int writers = 12;
		ExecutorService pool = Executors.newFixedThreadPool(writers);
		CountDownLatch start = new CountDownLatch(1);
		try {
			List<Future<Integer>> statuses = new ArrayList<>();
			for (int i = 0; i < writers; i++) {
				String resource = "r" + i;
				statuses.add(pool.submit(() -> {
					start.await();
					return patch(JSON_PATCH,
							"[{\"op\":\"add\",\"path\":\"/resources/" + resource
									+ "\",\"value\":{\"kind\":\"k\",\"remote_id\":\"" + resource + "\"}}]")
						.statusCode();
				}));
			}
			start.countDown();
			for (Future<Integer> status : statuses) {
				assertThat(status.get()).isEqualTo(200);
			}
		}
		finally {
			pool.shutdown();
		}
		HttpResponse<byte[]> read = this.service.get(this.path);
		assertThat(read.headers().firstValue("ETag")).hasValue("\"" + (writers + 1) + "\"");
		for (int i = 0; i < writers; i++) {
			assertThat(text(read)).contains("\"remote_id\":\"r" + i + "\"");
		}
		assertThat(text(read)).contains("\"remote_id\":\"vpc-1\"");
	}

}
