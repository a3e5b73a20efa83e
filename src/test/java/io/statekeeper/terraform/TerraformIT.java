package io.statekeeper.terraform;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.statekeeper.RunningService;
import io.statekeeper.security.SecurityTests;

import static io.statekeeper.RunningService.text;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The real {@code terraform} binary against the service, with built-in resources only
 * ({@code terraform_data} and the {@code local-exec} provisioner), so nothing is
 * downloaded: init and applies, a second apply refused while the first holds the lock, a
 * killed apply's lock forced or expired and taken over (the old id fenced), pushes the
 * guard refuses, {@code state pull}, and a reader token that can plan without a lock but
 * not apply. Skipped, with the reason, where {@code terraform} is not installed.
 */
class TerraformIT {

	private static final Pattern LOCK_ID = Pattern.compile("\"ID\":\"([^\"]+)\"");

	@TempDir
	Path dir;

	/** Where Terraform reads and writes the state (and the tests look). */
	RunningService service;

	/** Where Terraform locks it: the same service, or another replica. */
	RunningService lockService;

	Path work;

	@BeforeEach
	void start() throws IOException {
		assumeTrue(terraform() != null, "terraform is not installed (on the PATH): the end-to-end test needs it");
		this.work = Files.createDirectories(this.dir.resolve("work"));
		Files.writeString(this.dir.resolve("terraformrc"), "");
	}

	@AfterEach
	void stop() {
		if (this.lockService != null && this.lockService != this.service) {
			this.lockService.close();
		}
		if (this.service != null) {
			this.service.close();
		}
	}

	/** Starts the service (a subclass may start it on another engine). */
	RunningService start(String name, String... properties) {
		return RunningService.start(this.dir.resolve(name), properties);
	}

	/**
	 * The service Terraform locks at: this one (a subclass may start another replica).
	 */
	RunningService startLocks(String... properties) {
		return this.service;
	}

	private static Path terraform() {
		for (String entry : System.getenv().getOrDefault("PATH", "").split(":")) {
			Path candidate = Path.of(entry, "terraform");
			if (!entry.isEmpty() && Files.isExecutable(candidate)) {
				return candidate;
			}
		}
		return null;
	}

	private void serve(String... properties) throws IOException {
		this.service = start("data", properties);
		this.lockService = startLocks(properties);
		String base = this.service.api("/terraform/states/infra").toString();
		String locks = this.lockService.api("/terraform/states/infra").toString();
		Files.writeString(this.work.resolve("main.tf"), """
				terraform {
				  backend "http" {
				    address        = "%1$s"
				    lock_address   = "%2$s/lock"
				    unlock_address = "%2$s/lock"
				  }
				}

				variable "n" {
				  default = 1
				}

				variable "command" {
				  default = "true"
				}

				resource "terraform_data" "step" {
				  triggers_replace = var.n
				  input            = var.n

				  provisioner "local-exec" {
				    command = var.command
				  }
				}

				output "n" {
				  value = terraform_data.step.output
				}
				""".formatted(base, locks));
	}

	/** A finished run: its exit code and everything it printed. */
	record Run(int exit, String output) {

	}

	private ProcessBuilder command(String user, String secret, String... args) {
		List<String> command = new ArrayList<>();
		command.add(terraform().toString());
		command.addAll(List.of(args));
		ProcessBuilder builder = new ProcessBuilder(command).directory(this.work.toFile()).redirectErrorStream(true);
		Map<String, String> env = builder.environment();
		env.put("TF_CLI_CONFIG_FILE", this.dir.resolve("terraformrc").toString());
		env.put("CHECKPOINT_DISABLE", "1");
		env.put("TF_IN_AUTOMATION", "1");
		env.put("TF_INPUT", "0");
		env.put("TF_HTTP_USERNAME", user);
		env.put("TF_HTTP_PASSWORD", secret);
		return builder;
	}

	private Run run(String... args) throws Exception {
		return runAs("test", RunningService.TOKEN, args);
	}

	private Run runAs(String user, String secret, String... args) throws Exception {
		Process process = command(user, secret, args).start();
		String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
		assertThat(process.waitFor(3, TimeUnit.MINUTES)).as("terraform %s finished", args[0]).isTrue();
		return new Run(process.exitValue(), output);
	}

	private Run ok(String... args) throws Exception {
		Run run = run(args);
		assertThat(run.exit()).as(run.output()).isZero();
		return run;
	}

	/**
	 * An apply whose provisioner waits for {@code release} once it has created
	 * {@code started}.
	 */
	private Process blockingApply(int n) throws IOException {
		String command = "touch started; while [ ! -f release ]; do sleep 0.05; done";
		Process apply = command("test", RunningService.TOKEN, "apply", "-auto-approve", "-var", "n=" + n, "-var",
				"command=" + command)
			.redirectOutput(this.dir.resolve("blocking-" + n + ".log").toFile())
			.start();
		await().atMost(Duration.ofMinutes(2))
			.until(() -> Files.exists(this.work.resolve("started")) || !apply.isAlive());
		assertThat(apply.isAlive()).as(() -> log("blocking-" + n + ".log")).isTrue();
		return apply;
	}

	private String log(String name) {
		try {
			return Files.readString(this.dir.resolve(name));
		}
		catch (IOException ex) {
			return ex.toString();
		}
	}

	/** {@code terraform init}, then applies with {@code n} = 1 to {@code times}. */
	private void initAndApply(int times) throws Exception {
		ok("init", "-no-color");
		for (int n = 1; n <= times; n++) {
			ok("apply", "-auto-approve", "-no-color", "-var", "n=" + n);
		}
	}

	private String lockId() {
		HttpResponse<byte[]> lock = this.service.get("/api/v1/states/infra/lock");
		assertThat(lock.statusCode()).as(text(lock)).isEqualTo(200);
		Matcher matcher = LOCK_ID.matcher(text(lock));
		assertThat(matcher.find()).isTrue();
		return matcher.group(1);
	}

	private String nativeState() {
		return text(this.service.get("/api/v1/states/infra"));
	}

	@Test
	void appliesKeepTheirHistoryAndStatePullIsTheNativeState() throws Exception {
		serve();
		initAndApply(3);

		String versions = text(this.service.get("/api/v1/states/infra/versions"));
		assertThat(versions.split("\"revision\"", -1).length - 1).isGreaterThanOrEqualTo(3);
		assertThat(nativeState()).contains("\"lineage\"", "terraform_data", "\"value\": \"3\"");
		assertThat(ok("state", "pull").output().strip()).isEqualTo(nativeState().strip());
		// no apply leaves a lock behind
		assertThat(this.service.get("/api/v1/states/infra/lock").statusCode()).isEqualTo(404);
	}

	@Test
	void aSecondApplyWhileTheFirstHoldsTheLockFailsNamingTheHolder() throws Exception {
		serve();
		ok("init", "-no-color");
		Process first = blockingApply(1);
		try {
			String holder = lockId();
			Run second = run("apply", "-auto-approve", "-no-color", "-lock-timeout=0s", "-var", "n=2");
			assertThat(second.exit()).isNotZero();
			assertThat(second.output()).contains("Error acquiring the state lock").contains(holder);
		}
		finally {
			Files.writeString(this.work.resolve("release"), "");
		}
		assertThat(first.waitFor(2, TimeUnit.MINUTES)).isTrue();
		assertThat(first.exitValue()).as(() -> log("blocking-1.log")).isZero();
		assertThat(nativeState()).contains("\"value\": \"1\"");
	}

	@Test
	void aKilledApplysLockIsForcedWithForceUnlock() throws Exception {
		serve();
		ok("init", "-no-color");
		Process killed = blockingApply(1);
		String holder = lockId();
		killed.destroyForcibly();
		assertThat(killed.waitFor(1, TimeUnit.MINUTES)).isTrue();
		assertThat(lockId()).isEqualTo(holder);

		ok("force-unlock", "-force", "-no-color", holder);
		assertThat(this.service.get("/api/v1/states/infra/lock").statusCode()).isEqualTo(404);
		assertThat(text(this.service.get("/api/v1/audit?state=infra"))).contains("\"action\":\"force-unlock\"", holder);
		Files.delete(this.work.resolve("started"));
		ok("apply", "-auto-approve", "-no-color", "-var", "n=2");
		assertThat(nativeState()).contains("\"value\": \"2\"");
	}

	@Test
	void aKilledApplysLockExpiresTheNextApplyTakesItOverAndTheOldIdIsFenced() throws Exception {
		serve("statekeeper.locks.lease=2s");
		ok("init", "-no-color");
		Process killed = blockingApply(1);
		String holder = lockId();
		killed.destroyForcibly();
		assertThat(killed.waitFor(1, TimeUnit.MINUTES)).isTrue();
		// the lease runs out by itself (the server's clock): no force-unlock
		await().atMost(Duration.ofSeconds(30)).until(() -> {
			Matcher expires = Pattern.compile("\"expiresAt\":\"([^\"]+)\"")
				.matcher(text(this.service.get("/api/v1/states/infra/lock")));
			return expires.find() && Instant.now().isAfter(Instant.parse(expires.group(1)));
		});
		Files.delete(this.work.resolve("started"));
		ok("apply", "-auto-approve", "-no-color", "-var", "n=2");
		assertThat(nativeState()).contains("\"value\": \"2\"");

		HttpResponse<byte[]> late = this.service.call("POST", "/terraform/states/infra?ID=" + holder,
				nativeState().getBytes(StandardCharsets.UTF_8));
		assertThat(late.statusCode()).isEqualTo(409);
		assertThat(text(late)).contains("lock-not-held");
		assertThat(nativeState()).contains("\"value\": \"2\"");
	}

	@Test
	void pushesOfALowerSerialOrAnotherLineageAreRefusedEvenWithForce() throws Exception {
		serve();
		initAndApply(3);
		String stored = nativeState();
		long serial = Long.parseLong(matchOne(stored, "\"serial\": (\\d+)"));
		assertThat(serial).isGreaterThanOrEqualTo(3);

		// state push raises the serial by one before it sends: this one arrives lower
		Path older = this.work.resolve("older.tfstate");
		Files.writeString(older, stored.replaceFirst("\"serial\": \\d+", "\"serial\": " + (serial - 3)));
		Run regressed = run("state", "push", "-force", "-no-color", older.toString());
		assertThat(regressed.exit()).as(regressed.output()).isNotZero();
		Path foreign = this.work.resolve("foreign.tfstate");
		Files.writeString(foreign, stored.replaceFirst("\"lineage\": \"[^\"]+\"",
				"\"lineage\": \"00000000-0000-0000-0000-000000000000\""));
		Run otherLineage = run("state", "push", "-force", "-no-color", foreign.toString());
		assertThat(otherLineage.exit()).as(otherLineage.output()).isNotZero();

		assertThat(nativeState()).isEqualTo(stored);
		assertThat(text(this.service.get("/api/v1/audit?state=infra"))).contains("\"reason\":\"serial-regressed\"",
				"\"reason\":\"lineage-mismatch\"");
	}

	@Test
	void aReaderPlansWithoutALockButCannotApply() throws Exception {
		serve(SecurityTests.tokens());
		ok("init", "-no-color");
		ok("apply", "-auto-approve", "-no-color", "-var", "n=1");
		String before = nativeState();

		Run plan = runAs("reader", SecurityTests.READER, "plan", "-no-color", "-lock=false", "-var", "n=2");
		assertThat(plan.exit()).as(plan.output()).isZero();
		assertThat(plan.output()).contains("1 to add, 0 to change, 1 to destroy");
		Run apply = runAs("reader", SecurityTests.READER, "apply", "-auto-approve", "-no-color", "-var", "n=2");
		assertThat(apply.exit()).isNotZero();
		assertThat(apply.output()).contains("Error acquiring the state lock");
		assertThat(nativeState()).isEqualTo(before);
	}

	private static String matchOne(String text, String regex) {
		Matcher matcher = Pattern.compile(regex).matcher(text);
		assertThat(matcher.find()).as(regex).isTrue();
		return matcher.group(1);
	}

}
