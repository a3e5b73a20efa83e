package io.statekeeper.terraform;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;

import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import io.statekeeper.RunningService;
import io.statekeeper.TestClock;
import io.statekeeper.security.SecurityTests;
import io.statekeeper.storage.StorageTestSupport;

import static io.statekeeper.RunningService.text;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Terraform's http backend protocol as Terraform 1.11 and OpenTofu send it, over real
 * HTTP: every status and body, the three unlock bodies, retries, leases on a clock the
 * test moves, fencing after a takeover, the serial/lineage guard, Content-MD5, roles. A
 * refused request changes nothing: each refusal is followed by a read that proves it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TerraformProtocolTests {

	static final Duration LEASE = Duration.ofMinutes(10);

	@TempDir
	static Path dataDir;

	final TestClock clock = new TestClock();

	RunningService service;

	String name;

	String base;

	@BeforeAll
	void start() {
		this.service = RunningService.start(dataDir, this.clock,
				java.util.stream.Stream
					.concat(java.util.stream.Stream.of(SecurityTests.tokens()),
							java.util.stream.Stream.of("statekeeper.locks.lease=" + LEASE.toSeconds() + "s"))
					.toArray(String[]::new));
	}

	@AfterAll
	void stop() {
		this.service.close();
	}

	@BeforeEach
	void name() {
		this.name = "tf-" + Long.toHexString(System.nanoTime());
		this.base = "/terraform/states/" + this.name;
	}

	static byte[] tfstate(long serial, String lineage) {
		return tfstate(serial, lineage, "");
	}

	static byte[] tfstate(long serial, String lineage, String extra) {
		return ("{\n  \"version\": 4,\n  \"terraform_version\": \"1.11.4\",\n  \"serial\": " + serial
				+ ",\n  \"lineage\": \"" + lineage + "\",\n  \"outputs\": {" + extra
				+ "},\n  \"resources\": [],\n  \"check_results\": null\n}\n")
			.getBytes(StandardCharsets.UTF_8);
	}

	static byte[] lockInfo(String id) {
		return ("{\"ID\":\"" + id + "\",\"Operation\":\"OperationTypeApply\",\"Info\":\"\",\"Who\":\"ci@runner\","
				+ "\"Version\":\"1.11.4\",\"Created\":\"2026-12-06T10:00:00Z\",\"Path\":\"\"}")
			.getBytes(StandardCharsets.UTF_8);
	}

	HttpResponse<byte[]> call(String method, String path, byte[] body, String... headers) {
		return this.service.call(method, path, body, headers);
	}

	HttpResponse<byte[]> post(byte[] state, String id) {
		return call("POST", this.base + ((id != null) ? "?ID=" + id : ""), state, "Content-Type", "application/json",
				"Content-MD5", TerraformController.md5(state));
	}

	int revisions() {
		return text(this.service.get("/api/v1/states/" + this.name + "/versions")).split("\"revision\"").length - 1;
	}

	double locks(String outcome) {
		return StorageTestSupport.counter(this.service.context().getBean(MeterRegistry.class), "statekeeper.locks",
				"outcome", outcome);
	}

	// ------------------------------------------------------------------ state

	@Test
	void aStateIsStoredAndReadBackByteForByteWithContentMd5AndIsANativeStateToo() {
		assertThat(call("GET", this.base, null).statusCode()).isEqualTo(404);
		byte[] state = tfstate(1, "lin-a");
		assertThat(post(state, null).statusCode()).isEqualTo(200);

		HttpResponse<byte[]> read = call("GET", this.base, null);
		assertThat(read.statusCode()).isEqualTo(200);
		assertThat(read.body()).isEqualTo(state);
		assertThat(read.headers().firstValue("Content-MD5")).hasValue(TerraformController.md5(state));
		assertThat(read.headers().firstValue("ETag")).hasValue("\"1\"");
		assertThat(this.service.get("/api/v1/states/" + this.name).body()).isEqualTo(state);
		assertThat(text(this.service.get("/api/v1/audit?state=" + this.name))).contains("\"action\":\"put\"",
				"\"revision\":1");
	}

	@Test
	void aContentMd5ThatDoesNotMatchIs400AndStoresNothing() {
		HttpResponse<byte[]> refused = call("POST", this.base, tfstate(1, "lin"), "Content-MD5",
				TerraformController.md5("other".getBytes()));
		assertThat(refused.statusCode()).isEqualTo(400);
		assertThat(text(refused)).contains("content-md5-mismatch");
		assertThat(call("GET", this.base, null).statusCode()).isEqualTo(404);
	}

	@Test
	void aBodyThatIsNotATerraformStateIs422WithEachFieldAndMalformedJsonIs400() {
		HttpResponse<byte[]> notTerraform = post("{\"version\":1,\"resources\":{},\"metadata\":{}}".getBytes(), null);
		assertThat(notTerraform.statusCode()).isEqualTo(422);
		assertThat(text(notTerraform)).contains("Not a Terraform state", "\"field\":\"serial\"",
				"\"field\":\"lineage\"");
		assertThat(text(post("{\"version\":4,\"serial\":1,\"lineage\":\"l\",\"resources\":{}}".getBytes(), null)))
			.contains("resources must be an array", "outputs is required: an object");
		HttpResponse<byte[]> wrong = post("{\"version\":5,\"serial\":-1,\"lineage\":\"\"}".getBytes(), null);
		assertThat(text(wrong)).contains("must be 3 or 4", "must be at least 0", "must be a non-empty string");
		assertThat(post("{\"version\":4,".getBytes(), null).statusCode()).isEqualTo(400);
		assertThat(call("GET", this.base, null).statusCode()).isEqualTo(404);
		// the native API checks a body that claims to be a Terraform state as one
		assertThat(this.service.put("/api/v1/states/" + this.name, "{\"version\":4,\"serial\":\"1\"}".getBytes())
			.statusCode()).isEqualTo(422);
		assertThat(this.service.put("/api/v1/states/" + this.name, tfstate(3, "lin")).statusCode()).isEqualTo(201);
	}

	@Test
	void deleteIs200AndKeepsTheHistory() {
		post(tfstate(1, "lin"), null);
		post(tfstate(2, "lin"), null);
		assertThat(call("DELETE", this.base, null).statusCode()).isEqualTo(200);
		assertThat(call("GET", this.base, null).statusCode()).isEqualTo(404);
		assertThat(text(this.service.get("/api/v1/states/" + this.name + "/versions"))).contains("\"revision\":2",
				"\"revision\":1");
	}

	// ------------------------------------------------------------------ guard

	@Test
	void theGuardRefusesALowerSerialAnotherLineageAndAReusedSerialAndARetryStoresNothing() {
		byte[] state = tfstate(5, "lin-g");
		assertThat(post(state, null).statusCode()).isEqualTo(200);

		HttpResponse<byte[]> lower = post(tfstate(4, "lin-g"), null);
		assertThat(lower.statusCode()).isEqualTo(409);
		assertThat(text(lower)).contains("serial-regressed", "\"storedSerial\":5");
		HttpResponse<byte[]> lineage = post(tfstate(6, "lin-other"), null);
		assertThat(lineage.statusCode()).isEqualTo(409);
		assertThat(text(lineage)).contains("lineage-mismatch", "\"storedLineage\":\"lin-g\"");
		HttpResponse<byte[]> reused = post(tfstate(5, "lin-g", "\"x\":{\"value\":1,\"type\":\"number\"}"), null);
		assertThat(reused.statusCode()).isEqualTo(409);
		assertThat(text(reused)).contains("serial-reused");
		assertThat(call("GET", this.base, null).body()).isEqualTo(state);
		assertThat(text(this.service.get("/api/v1/audit?state=" + this.name))).contains("\"outcome\":\"rejected\"",
				"\"reason\":\"serial-regressed\"", "\"reason\":\"lineage-mismatch\"", "\"reason\":\"serial-reused\"");

		// a retried POST: the same bytes, answered as stored, no new revision
		assertThat(post(state, null).statusCode()).isEqualTo(200);
		assertThat(revisions()).isEqualTo(1);
		assertThat(post(tfstate(6, "lin-g"), null).statusCode()).isEqualTo(200);
		assertThat(revisions()).isEqualTo(2);
	}

	// ------------------------------------------------------------------ locks

	@Test
	void lockOnEitherAddressOrByPostAndTheSameIdAgainIs200AnotherIdIs423WithTheHoldersLockInfo() {
		byte[] a = lockInfo("id-a");
		// a state need not exist to be locked
		assertThat(call("LOCK", this.base + "/lock", a).statusCode()).isEqualTo(200);
		assertThat(call("LOCK", this.base, a).statusCode()).isEqualTo(200);
		assertThat(call("POST", this.base + "/lock", a).statusCode()).isEqualTo(200);

		for (String address : new String[] { this.base, this.base + "/lock" }) {
			HttpResponse<byte[]> held = call("LOCK", address, lockInfo("id-b"));
			assertThat(held.statusCode()).isEqualTo(423);
			assertThat(held.body()).isEqualTo(a);
		}
		assertThat(call("POST", this.base + "/lock", lockInfo("id-b")).statusCode()).isEqualTo(423);
		assertThat(call("LOCK", this.base, "{\"Who\":\"x\"}".getBytes()).statusCode()).isEqualTo(400);
		assertThat(call("LOCK", this.base, "not json".getBytes()).statusCode()).isEqualTo(400);
		assertThat(text(this.service.get("/api/v1/states/" + this.name + "/lock"))).contains("\"ID\":\"id-a\"",
				"\"Who\":\"ci@runner\"", "\"expiresAt\"");
	}

	@Test
	void whileLockedAWriteNeedsTheHoldersIdWithout423WithAnother409() {
		byte[] a = lockInfo("id-a");
		assertThat(call("LOCK", this.base, a).statusCode()).isEqualTo(200);
		HttpResponse<byte[]> anonymous = post(tfstate(1, "lin"), null);
		assertThat(anonymous.statusCode()).isEqualTo(423);
		assertThat(anonymous.body()).isEqualTo(a);
		HttpResponse<byte[]> other = post(tfstate(1, "lin"), "id-b");
		assertThat(other.statusCode()).isEqualTo(409);
		assertThat(other.body()).isEqualTo(a);
		assertThat(call("DELETE", this.base, null).statusCode()).isEqualTo(423);
		assertThat(call("GET", this.base, null).statusCode()).isEqualTo(404);

		assertThat(post(tfstate(1, "lin"), "id-a").statusCode()).isEqualTo(200);
		assertThat(call("GET", this.base, null).statusCode()).isEqualTo(200);
		// the native API keeps the same lock
		assertThat(this.service.put("/api/v1/states/" + this.name, tfstate(2, "lin")).statusCode()).isEqualTo(423);
		assertThat(text(this.service.put("/api/v1/states/" + this.name, tfstate(2, "lin")))).contains("state-locked",
				"\"ID\":\"id-a\"");
		assertThat(this.service.put("/api/v1/states/" + this.name, tfstate(2, "lin"), "Lock-Id", "id-a").statusCode())
			.isEqualTo(200);
		assertThat(text(this.service.get("/api/v1/states"))).contains("\"name\":\"" + this.name + "\"")
			.containsPattern("\"name\":\"" + this.name + "\"[^}]*\"locked\":true");
	}

	@Test
	void unlockWithTheFullLockInfoOrTheIdAloneReleasesAnotherIdIs409AndReleasesNothing() {
		byte[] a = lockInfo("id-a");
		call("LOCK", this.base, a);
		HttpResponse<byte[]> other = call("UNLOCK", this.base, lockInfo("id-b"));
		assertThat(other.statusCode()).isEqualTo(409);
		assertThat(other.body()).isEqualTo(a);
		assertThat(call("LOCK", this.base, lockInfo("id-b")).statusCode()).isEqualTo(423);

		assertThat(call("UNLOCK", this.base, a).statusCode()).isEqualTo(200);
		assertThat(this.service.get("/api/v1/states/" + this.name + "/lock").statusCode()).isEqualTo(404);
		// OpenTofu's force-unlock sends the ID alone
		call("LOCK", this.base + "/lock", a);
		assertThat(call("UNLOCK", this.base + "/lock", "{\"ID\":\"id-a\"}".getBytes()).statusCode()).isEqualTo(200);
		call("LOCK", this.base, a);
		assertThat(call("DELETE", this.base + "/lock", a).statusCode()).isEqualTo(200);
		// nothing locked: 200
		assertThat(call("UNLOCK", this.base, a).statusCode()).isEqualTo(200);
	}

	@Test
	void anEmptyChunkedUnlockForcesWhateverLockIsHeldAndIsAuditedWithIt() {
		double forced = locks("forced");
		call("LOCK", this.base, lockInfo("id-killed"));
		// terraform force-unlock: no bytes, Transfer-Encoding: chunked, no Content-Length
		HttpRequest.Builder chunked = HttpRequest.newBuilder(this.service.api(this.base))
			.method("UNLOCK",
					HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(new byte[0])));
		HttpResponse<byte[]> unlocked = this.service.send(chunked);
		assertThat(unlocked.statusCode()).isEqualTo(200);
		assertThat(this.service.get("/api/v1/states/" + this.name + "/lock").statusCode()).isEqualTo(404);
		assertThat(locks("forced")).isEqualTo(forced + 1);
		assertThat(text(this.service.get("/api/v1/audit?state=" + this.name))).contains("\"action\":\"force-unlock\"",
				"id-killed", "ci@runner");
	}

	@Test
	void anExpiredLockIsTakenOverAndTheOldIdIsFencedFromThen() {
		double fenced = locks("fenced");
		double expired = locks("expired");
		call("LOCK", this.base, lockInfo("id-old"));
		assertThat(post(tfstate(1, "lin"), "id-old").statusCode()).isEqualTo(200);
		// expired, but nobody else wants it: still the old holder's
		this.clock.advance(LEASE.plusMinutes(1));
		assertThat(post(tfstate(2, "lin"), "id-old").statusCode()).isEqualTo(200);
		this.clock.advance(LEASE.plusMinutes(1));
		assertThat(call("LOCK", this.base, lockInfo("id-new")).statusCode()).isEqualTo(200);
		assertThat(locks("expired")).isEqualTo(expired + 1);

		HttpResponse<byte[]> lateWrite = post(tfstate(3, "lin"), "id-old");
		assertThat(lateWrite.statusCode()).isEqualTo(409);
		assertThat(text(lateWrite)).contains("id-new");
		assertThat(call("UNLOCK", this.base, lockInfo("id-old")).statusCode()).isEqualTo(409);
		assertThat(locks("fenced")).isEqualTo(fenced + 2);
		assertThat(text(this.service.get("/api/v1/states/" + this.name + "/lock"))).contains("\"ID\":\"id-new\"");
		assertThat(text(call("GET", this.base, null))).contains("\"serial\": 2");
		// released, the old id still never writes
		call("UNLOCK", this.base, lockInfo("id-new"));
		assertThat(post(tfstate(3, "lin"), "id-old").statusCode()).isEqualTo(409);
		assertThat(text(call("GET", this.base, null))).contains("\"serial\": 2");
	}

	@Test
	void everyWriteByTheHolderRenewsItsLease() {
		call("LOCK", this.base, lockInfo("id-a"));
		this.clock.advance(LEASE.minusMinutes(1));
		assertThat(post(tfstate(1, "lin"), "id-a").statusCode()).isEqualTo(200);
		this.clock.advance(Duration.ofMinutes(2));
		// past the first lease, within the renewed one
		assertThat(call("LOCK", this.base, lockInfo("id-b")).statusCode()).isEqualTo(423);
		this.clock.advance(LEASE);
		assertThat(call("LOCK", this.base, lockInfo("id-b")).statusCode()).isEqualTo(200);
	}

	@Test
	void theNativeLockApiGetsPostsReleasesAndForces() {
		String lock = "/api/v1/states/" + this.name + "/lock";
		assertThat(this.service.get(lock).statusCode()).isEqualTo(404);
		HttpResponse<byte[]> taken = call("POST", lock, lockInfo("id-n"), "Content-Type", "application/json");
		assertThat(taken.statusCode()).isEqualTo(200);
		assertThat(text(taken)).contains("\"ID\":\"id-n\"", "\"expiresAt\"");
		assertThat(call("POST", lock, lockInfo("id-m"), "Content-Type", "application/json").statusCode())
			.isEqualTo(423);
		assertThat(this.service.delete(lock, "Lock-Id", "id-m").statusCode()).isEqualTo(409);
		assertThat(this.service.delete(lock, "Lock-Id", "id-n").statusCode()).isEqualTo(204);
		call("POST", lock, lockInfo("id-n"), "Content-Type", "application/json");
		assertThat(this.service.delete(lock).statusCode()).isEqualTo(204);
		assertThat(this.service.get(lock).statusCode()).isEqualTo(404);
	}

	@Test
	void aReaderReadsButNeitherWritesNorLocksAndAWriterMayForce() {
		post(tfstate(1, "lin"), null);
		String reader = "Bearer " + SecurityTests.READER;
		HttpResponse<byte[]> read = this.service
			.sendRaw(HttpRequest.newBuilder(this.service.api(this.base)).header("Authorization", reader).GET());
		assertThat(read.statusCode()).isEqualTo(200);
		for (String method : new String[] { "POST", "LOCK", "UNLOCK", "DELETE" }) {
			HttpResponse<byte[]> refused = this.service.sendRaw(HttpRequest.newBuilder(this.service.api(this.base))
				.header("Authorization", reader)
				.method(method, HttpRequest.BodyPublishers.ofByteArray(tfstate(2, "lin"))));
			assertThat(refused.statusCode()).as(method).isEqualTo(403);
		}
		String basic = "Basic " + java.util.Base64.getEncoder()
			.encodeToString(("writer:" + SecurityTests.WRITER).getBytes(StandardCharsets.UTF_8));
		call("LOCK", this.base, lockInfo("id-w"));
		HttpResponse<byte[]> forced = this.service.sendRaw(HttpRequest.newBuilder(this.service.api(this.base))
			.header("Authorization", basic)
			.method("UNLOCK", HttpRequest.BodyPublishers.noBody()));
		assertThat(forced.statusCode()).isEqualTo(200);
		assertThat(text(call("GET", this.base, null))).contains("\"serial\": 1");
	}

}
